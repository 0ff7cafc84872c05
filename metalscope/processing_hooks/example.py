"""The ``example`` hook: logs what it is given and changes nothing (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)


class ExampleHook(BaseHook):
    """A template for third-party hooks: both phases only log their inputs."""

    def before_processing(self, data: dict[str, Any]) -> None:
        """Log the keys of the raw ramdisk data."""
        LOG.debug("example hook before_processing, data keys: %s", sorted(data))

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Log the node and the keys of the processed data."""
        LOG.debug("example hook before_update for node %s, data keys: %s",
                  node.uuid, sorted(data))
