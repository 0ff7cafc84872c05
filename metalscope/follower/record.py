"""An inventory of Ironic's own inspection recorded as a version of the node's history.

Under the node's lock (another instance, or MetalScope's own introspection of the node,
holding it: the inventory waits for the next poll), in the order of MetalScope's own
processing:

1. the node's latest version is that inspection's already (same Ironic
   ``inspection_finished_at`` and source)? Nothing more to do: a poll interrupted after
   recording, or another instance, recorded it;
2. a ``finished`` status record dated by Ironic's inspection (a node unknown to MetalScope
   is added, so it is listed, searched and shown like the others);
3. the diff with the previous version (``hardware.compare``), then the version, its
   source ``ironic-agent`` or ``ironic-redfish`` and its times Ironic's;
4. the processed data kept (``GET /v1/introspection/{node}/data``);
5. the rules, with ``diff://`` fields, their edits sent as traits, ``extra`` and
   maintenance only (``actions.py``), when ``[follower]apply_rules``;
6. the fleet summary, with the rules that matched;
7. the drift event (log, signed webhook) when the hardware changed, and the metrics.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from metalscope.coordination import take_lock
from metalscope.follower import actions, convert
from metalscope.follower.poll import Outcome
from metalscope.hardware import compare
from metalscope.metrics.follower import FollowerMetrics
from metalscope.operations import history
from metalscope.operations.processing import hardware_summary, save_summary
from metalscope.rules.model import Rule
from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.follower import FollowerStore, PendingInventory
from metalscope.storage.repository import NodeRecord, utcnow

LOG = logging.getLogger(__name__)


class InventoryRecorder:
    """The follower's recorder (:data:`~metalscope.follower.poll.Recorder`) over the
    services of an instance."""

    def __init__(self, svc: Services, store: FollowerStore,
                 metrics: FollowerMetrics | None = None) -> None:
        self.svc = svc
        self.store = store
        self.metrics = metrics

    async def __call__(self, pending: PendingInventory, answer: dict[str, Any]) -> Outcome:
        held = await take_lock(self.svc.coordinator, pending.uuid, blocking=False)
        if held is None:
            return Outcome.BUSY
        async with held:
            return await self._record(pending, answer)

    async def _record(self, pending: PendingInventory, answer: dict[str, Any]) -> Outcome:
        svc = self.svc
        uuid = pending.uuid
        source = convert.source_of(pending.inspect_interface, answer)
        latest = await svc.repo.list_versions(uuid, limit=1)
        if latest and latest[0].finished_at == pending.finished_at \
                and latest[0].source == source:
            LOG.info("Following Ironic: the inspection of node %s finished at %s is version "
                     "%d already", uuid, pending.finished_at.isoformat(), latest[0].version)
            return Outcome.ALREADY
        data = convert.processed_data(answer)
        if await self.store.settle_record(uuid, pending.started_at, pending.finished_at):
            LOG.info("Following Ironic: node %s added", uuid)
        record = _record_of(uuid, pending)
        comparison = await self._compare(uuid, data, pending.name, source)
        version = await self._version(record, pending, data, comparison, source)
        await self._keep_data(uuid, data)
        matched = await self._rules(uuid, data, comparison)
        await save_summary(svc, uuid, pending.name, hardware_summary(data, matched))
        history.emit_drift(svc, record, comparison, version)
        if self.metrics is not None:
            self.metrics.version_recorded(
                source, (utcnow() - pending.finished_at).total_seconds())
        return Outcome.RECORDED

    async def _compare(self, uuid: str, data: dict[str, Any], name: str | None,
                       source: str) -> history.Comparison | None:
        """The comparison with the node's latest version (another inspection: the check
        above). Not :func:`history.compare_with_previous`, which tells an introspection's
        own version by its start time: Ironic clears ``inspection_started_at`` when an
        inspection finishes."""
        if not history.history_active(self.svc):
            return None
        previous = await self.svc.repo.latest_version(uuid)
        if previous is None:
            return history.Comparison(data, None, None, name, source)
        if previous.raw_bytes < history.OFF_LOOP_BYTES:
            diff = compare(previous.processed, data)
        else:
            diff = await asyncio.to_thread(compare, previous.processed, data)
        LOG.info("Hardware of node %s compared with version %d: %s", uuid, previous.version,
                 diff.summary)
        return history.Comparison(data, previous, diff, name, source)

    async def _version(self, record: NodeRecord, pending: PendingInventory,
                       data: dict[str, Any], comparison: history.Comparison | None,
                       source: str) -> int | None:
        if comparison is None:
            return None
        version = await self.svc.repo.record_version(
            record.uuid, started_at=pending.started_at, finished_at=pending.finished_at,
            source=source, processed=data, unprocessed=None, error=None,
            summary=comparison.summary, changed=comparison.changed)
        LOG.info("Following Ironic: version %d of node %s recorded from Ironic's %s "
                 "inspection finished at %s%s", version, record.uuid, source,
                 pending.finished_at.isoformat(),
                 f": {comparison.summary}" if comparison.summary else "")
        return version

    async def _keep_data(self, uuid: str, data: dict[str, Any]) -> None:
        """The processed data, as the introspection data API serves it (best effort)."""
        if not self.svc.data_store.enabled:
            return
        try:
            await self.svc.data_store.save(uuid, True, data)
        except Exception as exc:
            LOG.warning("Following Ironic: failed to store the data of node %s: %s", uuid, exc)

    async def _rules(self, uuid: str, data: dict[str, Any],
                     comparison: history.Comparison | None) -> list[Rule]:
        if not self.svc.settings.follower.apply_rules:
            return []
        diff = None if comparison is None else comparison.document()
        summary = None if comparison is None else comparison.summary
        matched, sent = await actions.run_drift_rules(self.svc, uuid, data, diff, summary)
        if sent.refused and self.metrics is not None:
            self.metrics.rule_edits_refused(len(sent.refused))
        return matched


def _record_of(uuid: str, pending: PendingInventory) -> NodeRecord:
    """The inspection as a status record, for the history steps (compared with the
    latest version not of this inspection: its start time tells)."""
    return NodeRecord(uuid=uuid, state=State.FINISHED, started_at=pending.started_at,
                      finished_at=pending.finished_at, error=None, manage_boot=False,
                      version_id="", method=convert.IRONIC_AGENT)
