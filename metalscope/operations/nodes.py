"""Small shared steps: resolving node names, provision-state checks, failing a record."""

from __future__ import annotations

import logging
import uuid as uuidlib
from typing import Any

from metalscope.errors import InvalidTransition, MetalScopeError, StateConflict
from metalscope.metrics import FailureReason
from metalscope.services import Services
from metalscope.settings import Settings
from metalscope.state_machine import Event, is_allowed
from metalscope.storage.repository import NodeRecord

LOG = logging.getLogger(__name__)

VALID_PROVISION_STATES = ("enroll", "manageable", "inspecting", "inspect wait", "inspect failed")
ACTIVE_PROVISION_STATES = ("active", "rescue")
#: Out of band, nothing is powered or booted: a node waiting for deployment may be read too.
OUT_OF_BAND_PROVISION_STATES = ("available",)


def canonical_uuid(value: str) -> str | None:
    """The canonical form of a UUID-like string (dashes optional), else None."""
    try:
        return str(uuidlib.UUID(value))
    except (ValueError, AttributeError, TypeError):
        return None


async def resolve_uuid(svc: Services, node_id: str) -> str:
    """A UUID is used as given; a name is resolved through Ironic (404 if unknown)."""
    uuid = canonical_uuid(node_id)
    if uuid is not None:
        return uuid
    node = await svc.ironic.get_node(node_id, fields=["uuid"])
    return str(node["uuid"])


def check_provision_state(node: dict[str, Any], settings: Settings, *,
                          out_of_band: bool = False) -> bool:
    """Raise unless the node may be introspected; True when it is active (keep power on).
    An ``out_of_band`` introspection also accepts ``available``."""
    state = str(node.get("provision_state") or "").lower()
    allowed = (*VALID_PROVISION_STATES, *(OUT_OF_BAND_PROVISION_STATES if out_of_band else ()))
    if state in allowed:
        return False
    if settings.processing.permit_active_introspection and state in ACTIVE_PROVISION_STATES:
        return True
    valid = sorted(allowed)
    if settings.processing.permit_active_introspection:
        valid = sorted([*allowed, *ACTIVE_PROVISION_STATES])
    raise MetalScopeError(
        f'Invalid provision state for introspection: "{state}", valid states are "{valid}"')


async def fail_record(svc: Services, record: NodeRecord, message: str,
                      processed: str | None = None, *,
                      reason: FailureReason = FailureReason.OTHER) -> NodeRecord:
    """Finish the record in ``error`` with ``message`` (storing the ``processed`` data JSON
    in the same transaction, when given), counted as a failure of class ``reason``; a lost
    race is logged, not raised."""
    if not is_allowed(record.state, Event.ERROR):
        LOG.error("Node %s in state %s cannot move to error: %s", record.uuid, record.state.value,
                  message)
        return record
    try:
        failed, macs = await svc.repo.settle(record, Event.ERROR, error=message,
                                             processed=processed)
    except (StateConflict, InvalidTransition) as exc:
        LOG.error("Could not record the failure of node %s (%s): %s", record.uuid, exc, message)
        return record
    LOG.error("Introspection of node %s failed: %s", record.uuid, message)
    svc.metrics.introspection_failed(reason)
    await svc.pxe_filter.deny(set(macs))
    return failed
