"""Rules on a followed inspection, their edits sent to Ironic through its API only.

The introspection rules run as in MetalScope's own processing (``data://`` fields on the
followed data, ``diff://`` on the diff with the previous version) against the node and
ports as Ironic has them. Of their edits, only those that change no inspection or
provisioning state of Ironic's are sent:

* traits added and removed (``add-trait``, ``remove-trait``);
* ``extra`` fields (``set-attribute``/``extend-attribute`` on ``/extra/...``);
* maintenance with a reason (``set-attribute`` of ``/maintenance`` true, the reason from
  ``/maintenance_reason`` or the drift's summary): ``PUT /v1/nodes/{node}/maintenance``,
  and ``/maintenance`` false: ``DELETE``.

Every other edit (properties, capabilities, driver fields, ports, provision state...) is
logged with its rule's effect and not made: Ironic owns what its own inspection set.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metalscope.errors import MetalScopeError
from metalscope.node_changes import NodeChanges, PendingChanges
from metalscope.rules.engine import apply_rules_off_loop
from metalscope.rules.model import Rule
from metalscope.services import Services

LOG = logging.getLogger(__name__)
#: The reason of a maintenance a rule asks for without giving one.
DEFAULT_REASON = "Hardware drift found by MetalScope"


@dataclass
class DriftActions:
    """The edits of the rules that the follower sends, and those it refuses."""

    extra_ops: list[dict[str, Any]] = field(default_factory=list)
    traits_added: list[str] = field(default_factory=list)
    traits_removed: list[str] = field(default_factory=list)
    #: True: into maintenance; False: out of it; None: unchanged.
    maintenance: bool | None = None
    maintenance_reason: str | None = None
    refused: list[str] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.extra_ops or self.traits_added or self.traits_removed
                    or self.maintenance is not None)


def allowed_actions(pending: PendingChanges, summary: str | None = None) -> DriftActions:
    """Split the rules' edits into those sent and those refused (pure)."""
    actions = DriftActions(traits_added=list(pending.traits_added),
                           traits_removed=list(pending.traits_removed))
    for op in pending.node_patch:
        path = str(op.get("path", ""))
        if path == "/extra" or path.startswith("/extra/"):
            actions.extra_ops.append(dict(op))
        elif path == "/maintenance":
            actions.maintenance = op.get("op") != "remove" and _truthy(op.get("value"))
        elif path == "/maintenance_reason" and op.get("op") != "remove":
            actions.maintenance_reason = str(op.get("value"))
        else:
            actions.refused.append(f"{op.get('op')} {path}")
    if actions.maintenance and not actions.maintenance_reason:
        actions.maintenance_reason = (f"{DEFAULT_REASON}: {summary}" if summary
                                      else DEFAULT_REASON)
    actions.refused.extend(f"create port {port.address}" for port in pending.ports_created)
    actions.refused.extend(f"update port {uuid}" for uuid in pending.ports_patched)
    actions.refused.extend(f"delete port {uuid}" for uuid in pending.ports_deleted)
    return actions


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


async def run_drift_rules(svc: Services, uuid: str, data: dict[str, Any],
                          diff: Mapping[str, Any] | None,
                          summary: str | None) -> tuple[list[Rule], DriftActions]:
    """Run the rules on a followed inventory and send the allowed edits; the rules that
    matched and the edits (sent and refused). A rule failing (``fail`` action, a bad
    template) is logged; the edits made before it are sent, as in MetalScope's own
    processing."""
    rules = await svc.repo.list_rules()
    if not rules:
        return [], DriftActions()
    node = await svc.ironic.get_node(uuid)
    ports = await svc.ironic.list_node_ports(uuid)
    changes = NodeChanges(node, ports)
    matched: list[Rule] = []
    try:
        matched = await apply_rules_off_loop(rules, data, changes, svc.extensions.conditions,
                                             svc.extensions.actions,
                                             svc.settings.processing.rule_regex_timeout,
                                             diff=diff)
    except MetalScopeError as exc:
        LOG.warning("Following Ironic: a rule failed on node %s: %s", uuid, exc)
    svc.metrics.rules_matched(matched)
    actions = allowed_actions(changes.pending, summary)
    if actions.refused:
        LOG.warning("Following Ironic: rule edits of node %s not sent (only traits, extra "
                    "and maintenance are changed on a node Ironic inspects): %s", uuid,
                    "; ".join(actions.refused))
    await send(svc, uuid, actions)
    return matched, actions


async def send(svc: Services, uuid: str, actions: DriftActions) -> None:
    """Make the allowed edits through Ironic's API."""
    ironic = svc.ironic
    if actions.extra_ops:
        await ironic.patch_node(uuid, actions.extra_ops)
    for trait in actions.traits_added:
        await ironic.add_trait(uuid, trait)
    for trait in actions.traits_removed:
        await ironic.remove_trait(uuid, trait)
    if actions.maintenance is True:
        await ironic.set_maintenance(uuid, actions.maintenance_reason or DEFAULT_REASON)
        LOG.warning("Following Ironic: node %s put in maintenance by a rule: %s", uuid,
                    actions.maintenance_reason)
    elif actions.maintenance is False:
        await ironic.clear_maintenance(uuid)
