"""The one error of out-of-band inspection, naming the node and the Redfish resource."""

from __future__ import annotations

from typing import Literal

from metalscope.errors import MetalScopeError

#: What went wrong: the BMC did not answer, refused the credentials (401/403), lacks a
#: resource inspection needs (404 on a required one), answered something unusable, or the
#: node's ``driver_info`` does not say how to reach it.
Kind = Literal["unreachable", "authentication", "missing", "bad_answer", "configuration"]


class RedfishError(MetalScopeError):
    """Out-of-band inspection of ``node`` failed on ``resource``."""

    def __init__(self, node: str, resource: str, reason: str, *,
                 kind: Kind = "bad_answer") -> None:
        super().__init__(f"Out-of-band inspection of node {node} failed: {resource}: {reason}")
        self.node = node
        self.resource = resource
        self.reason = reason
        self.kind = kind
