"""The end of a callback's processing, after the ramdisk has its answer (spec 5.1 step 9):
save the node's hardware summary for the fleet pages, record the version in the history,
power the node off if its boot is managed, mark it ``finished`` with the processed data,
emit a drift event when the hardware changed, and deny its MACs in the PXE filter."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from metalscope.coordination import HeldNode
from metalscope.errors import IronicError, MetalScopeError
from metalscope.fleet.summary import HardwareSummary
from metalscope.metrics import FailureReason, failure_reason
from metalscope.node_changes import NodeChanges
from metalscope.operations import history
from metalscope.operations.ironic_wait import (
    IronicUnavailable,
    IronicWait,
    introspection_deadline,
)
from metalscope.operations.nodes import fail_record
from metalscope.operations.processing import data_text, hardware_summary, save_summary
from metalscope.rules.model import Rule
from metalscope.services import Services
from metalscope.state_machine import Event
from metalscope.storage.repository import NodeRecord

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Processed:
    """What the processing in the request produced for the finishing step."""

    #: The node and ports as sent to Ironic.
    changes: NodeChanges
    #: An active node stays powered on.
    keep_power_on: bool
    #: The processed data (without the ramdisk logs) when it is written with the final
    #: transition; serialised here, after the answer (the rules only read it).
    processed_data: dict[str, Any] | None
    #: The comparison with the previous version, when history is kept.
    comparison: history.Comparison | None = None
    #: The processed data and the rules it matched, summarised here for the fleet pages.
    data: dict[str, Any] | None = None
    matched: Sequence[Rule] = ()
    #: The node's name in Ironic (the node as read for the processing).
    node_name: Any = None
    #: The unprocessed data as stored with the record (JSON text), when the callback had it:
    #: the history version takes it from here instead of reading it back.
    unprocessed: str | None = None

    @property
    def processed(self) -> str | None:
        return None if self.processed_data is None else data_text(self.processed_data)

    def summary(self) -> HardwareSummary | None:
        return None if self.data is None else hardware_summary(self.data, self.matched)


async def finish(svc: Services, held: HeldNode, result: Processed) -> None:
    """Finish the node of ``held`` (a ``processing`` record) and release its lock; its
    latency share is accounted apart from the callback's (the ramdisk does not wait)."""
    with svc.metrics.finish_timer():
        await _finish(svc, held, result)


async def _finish(svc: Services, held: HeldNode, result: Processed) -> None:
    # Each step starts when no request is running its own code (foreground.py): the next
    # callback, arriving as this one's answer leaves, goes first.
    turn = svc.foreground.turn
    async with held:
        record = held.record
        # Saved whatever the end (finished, or error after the processing), best effort.
        await turn()
        await save_summary(svc, record.uuid, result.node_name, result.summary())
        try:
            # The version first: the processing's outcome is known; a stop during the
            # power-off leaves the record ``processing`` and the recovery finds the version.
            version = await history.record_end(svc, record, result.comparison, None,
                                               result.unprocessed, turn)
            if (record.manage_boot and svc.settings.processing.power_off
                    and not result.keep_power_on
                    and not await _power_off(svc, record, result)):
                return
            await turn()
            _, macs = await svc.repo.settle(record, Event.FINISH, processed=result.processed)
            svc.metrics.introspection_finished()
            history.emit_drift(svc, record, result.comparison, version)
            await svc.pxe_filter.deny(set(result.changes.ports) | set(macs))
            LOG.info("Introspection of node %s finished", record.uuid)
        except MetalScopeError as exc:
            await _fail(svc, record, str(exc), result, failure_reason(exc))


async def _fail(svc: Services, record: NodeRecord, message: str, result: Processed,
                reason: FailureReason) -> None:
    """End in error with the processed data and its version in the history."""
    version = await history.record_end(svc, record, result.comparison, message,
                                       result.unprocessed)
    await fail_record(svc, record, message, processed=result.processed, reason=reason)
    history.emit_drift(svc, record, result.comparison, version)


async def _power_off(svc: Services, record: NodeRecord, result: Processed) -> bool:
    """Power the node off; an unreachable Ironic is waited for as long as the introspection
    may last. False when the node was failed instead."""
    wait = IronicWait(introspection_deadline(svc.settings, record.started_at))
    try:
        await wait.call(lambda: svc.ironic.set_power_state(record.uuid, "power off"),
                        f"powering off node {record.uuid}")
    except (IronicError, IronicUnavailable) as exc:
        if result.changes.provision_state == "enroll":
            return True
        reason = exc.detail if isinstance(exc, IronicUnavailable) else str(exc)
        await _fail(svc, record, f"Failed to power off node {record.uuid}, check its power "
                                 f"management configuration: {reason}", result,
                    FailureReason.IRONIC)
        return False
    return True
