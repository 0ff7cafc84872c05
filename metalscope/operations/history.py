"""History in the processing: the diff with the previous version before the rules run, the
version recorded when the introspection ends, the drift event after it.

History is active with ``[history]enabled`` and the data kept in the database
(``store_data = database``). A version belongs to one introspection, identified by the
record's ``started_at``:

* :func:`compare_with_previous` reads the node's latest version that is not the current
  introspection's and compares its processed data with the new one (in a worker thread for
  large data): the diff document goes to the rules (``diff://`` fields).
* :func:`record_end` records the version *before* the record's final state change (and,
  in the finish step, before the power-off), and records nothing when the current
  introspection has a version already. A process killed between the two leaves the record
  ``processing``; the recovery processes it again and finds the version there, so there is
  exactly one version per introspection. The version keeps the processing's outcome (the
  hooks' and rules' error, if any); a power-off failing after it is the record's error only.
* :func:`emit_drift` hands a drift event to ``svc.drift`` (never blocks) when the
  hardware changed.

A reapply (:mod:`~metalscope.operations.reapply`) compares with the version before the
latest one (the latest being the introspection's own) and records nothing.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from metalscope.drift.events import DriftEvent
from metalscope.hardware import HardwareDiff, compare
from metalscope.services import Services
from metalscope.storage.history import HistoryVersion, StoredVersion
from metalscope.storage.repository import NodeRecord, utcnow

LOG = logging.getLogger(__name__)
SOURCE = "inband"
#: Versions larger than this (bytes of JSON, as recorded) are compared in a worker thread.
OFF_LOOP_BYTES = 64 * 1024


@dataclass(frozen=True)
class Comparison:
    """The processed data of an introspection and how it compares with the version before."""

    #: The introspection's processed data (without the ramdisk logs).
    processed: dict[str, Any]
    #: The version compared with; None when the node has none before this introspection.
    previous: HistoryVersion | None
    #: The difference from ``previous``; None without a previous version.
    diff: HardwareDiff | None
    #: The node's name in Ironic, for the drift event.
    node_name: str | None = None
    #: Where the data came from (``inband``, ``redfish``): the version's source.
    source: str = SOURCE

    def document(self) -> dict[str, Any] | None:
        """What the rules see as ``diff://`` (None: every ``diff://`` field is missing)."""
        return None if self.diff is None else self.diff.document()

    @property
    def changed(self) -> bool | None:
        return None if self.diff is None else self.diff.changed

    @property
    def summary(self) -> str | None:
        return None if self.diff is None else self.diff.summary


def history_active(svc: Services) -> bool:
    """Versions are kept only with history enabled and the data in the database."""
    return (svc.settings.history.enabled and svc.data_store.enabled
            and svc.data_store.in_repository)


async def compare_with_previous(svc: Services, record: NodeRecord, processed: dict[str, Any],
                                node_name: str | None = None, *,
                                reapply: bool = False,
                                source: str = SOURCE) -> Comparison | None:
    """Compare ``processed`` with the node's previous version; None when history is off.

    The previous version is the latest one not recorded by the current introspection (same
    ``started_at``, as when the processing runs again after a crash); for a reapply, the
    one before the latest.
    """
    if not history_active(svc):
        return None
    previous = await _previous_version(svc, record, reapply)
    if previous is None:
        return Comparison(processed, None, None, node_name, source)
    diff = await _compare(previous, processed)
    LOG.info("Hardware of node %s compared with version %d: %s", record.uuid,
             previous.version, diff.summary)
    return Comparison(processed, previous, diff, node_name, source)


async def _previous_version(svc: Services, record: NodeRecord,
                            reapply: bool) -> StoredVersion | None:
    latest = await svc.repo.list_versions(record.uuid, limit=2)
    if latest and (reapply or latest[0].started_at == record.started_at):
        latest = latest[1:]
    if not latest:
        return None
    return await svc.repo.get_version(record.uuid, latest[0].version)


async def _compare(previous: StoredVersion, new: dict[str, Any]) -> HardwareDiff:
    """Small inventories are compared on the loop; large ones (judged by the previous
    version's size, known without serialising anything) in a worker thread."""
    if previous.raw_bytes < OFF_LOOP_BYTES:
        return compare(previous.processed, new)
    return await asyncio.to_thread(compare, previous.processed, new)


async def record_end(svc: Services, record: NodeRecord, comparison: Comparison | None,
                     error: str | None, unprocessed: str | None = None,
                     pause: Callable[[], Awaitable[None]] | None = None) -> int | None:
    """Record the version of the introspection of ``record`` (before its final state
    change); return its number. Idempotent: the current introspection's existing version is
    returned as it is. None when history is off (``comparison`` None). ``unprocessed`` is
    the unprocessed data as stored with the record, when the caller has it (else it is read
    back). ``pause`` is awaited just before the version is encoded and written (background
    work lets the running requests go first: :mod:`metalscope.foreground`)."""
    if comparison is None:
        return None
    latest = await svc.repo.list_versions(record.uuid, limit=1)
    if latest and latest[0].started_at == record.started_at:
        LOG.info("Version %d of node %s was recorded already", latest[0].version, record.uuid)
        return latest[0].version
    unprocessed_data = await _unprocessed(svc, record.uuid, unprocessed)
    if pause is not None:
        await pause()
    version = await svc.repo.record_version(
        record.uuid, started_at=record.started_at, finished_at=utcnow(), source=comparison.source,
        processed=comparison.processed, unprocessed=unprocessed_data, error=error,
        summary=comparison.summary, changed=comparison.changed)
    LOG.info("Version %d of node %s recorded%s", version, record.uuid,
             f": {comparison.summary}" if comparison.summary else "")
    return version


async def _unprocessed(svc: Services, uuid: str,
                       text: str | None = None) -> dict[str, Any] | None:
    """The introspection's unprocessed data as stored, or ``text`` when given (parsed off
    the loop when large)."""
    if text is None:
        text = await svc.repo.get_data(uuid, False)
    data = None if text is None else await svc.json_parser.parse(text.encode())
    return data if isinstance(data, dict) else None


def emit_drift(svc: Services, record: NodeRecord, comparison: Comparison | None,
               version: int | None) -> None:
    """A drift event when the hardware changed since the previous version (queued for
    delivery in the background; never blocks, never raises)."""
    if (comparison is None or version is None or comparison.previous is None
            or comparison.diff is None or not comparison.diff.changed):
        return
    svc.drift.emit(DriftEvent(
        node_uuid=record.uuid, node_name=comparison.node_name,
        from_version=comparison.previous.version, to_version=version,
        finished_at=datetime.datetime.now(datetime.UTC),
        summary=comparison.diff.summary, diff=comparison.diff.document()))
