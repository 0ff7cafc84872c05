"""Hardware summaries for records processed before the fleet pages existed.

A database upgraded to migration 0005 holds finished (and failed) records without a
summary. With ``store_data = database`` their processed data is at hand: the leader fills a
bounded number of them per round (:func:`backfill_summaries`, run by ``background.py``),
each under its node's lock, named from one listing of Ironic's nodes; once a round finds
none left, the rounds stop (:class:`SummaryBackfill`). The rules such a
record matched are not known, so none are listed. Records whose data is kept elsewhere
(Swift) or not at all get their summary from their next introspection.
"""

from __future__ import annotations

import logging
from typing import Any

from metalscope.coordination import take_lock
from metalscope.fleet.summary import summarise
from metalscope.services import Services
from metalscope.storage.repository import utcnow

LOG = logging.getLogger(__name__)
#: Records summarised per round at most.
BATCH = 300


def backfill_active(svc: Services) -> bool:
    """Only the database store keeps processed data the repository can read."""
    return svc.data_store.enabled and svc.data_store.in_repository


async def backfill_summaries(svc: Services, limit: int = BATCH) -> int:
    """Summarise up to ``limit`` settled records that have stored processed data and no
    summary; how many were saved. A node locked by other work is left for a later round."""
    return await SummaryBackfill().run_round(svc, limit)


class SummaryBackfill:
    """The backfill's rounds until one finds no record left to summarise. From then on a
    round reads nothing: every record processed since has its summary from its processing,
    so the search for records without one (which reads every record) is not made again
    (until the process starts again)."""

    def __init__(self) -> None:
        self.finished = False

    async def run_round(self, svc: Services, limit: int = BATCH) -> int:
        if self.finished or not backfill_active(svc):
            return 0
        missing = await svc.repo.fleet.unsummarised(limit)
        if not missing:
            self.finished = True
            LOG.debug("Every record with stored data has its hardware summary")
            return 0
        names = await _ironic_names(svc)
        saved = 0
        for uuid, finished_at in missing:
            held = await take_lock(svc.coordinator, uuid, blocking=False)
            if held is None:
                continue
            async with held:
                saved += await _summarise_one(svc, uuid, names.get(uuid), finished_at)
        LOG.info("Hardware summaries filled from stored data: %d of %d", saved, len(missing))
        return saved


async def _ironic_names(svc: Services) -> dict[str, str]:
    nodes = await svc.ironic.list_nodes(fields=["uuid", "name"])
    return {str(n["uuid"]): n["name"] for n in nodes if isinstance(n.get("name"), str)}


async def _summarise_one(svc: Services, uuid: str, name: str | None,
                         finished_at: Any) -> int:
    text = await svc.repo.get_data(uuid, True)
    if text is None:  # deleted meanwhile
        return 0
    try:
        data = await svc.json_parser.parse(text.encode())
    except ValueError:
        LOG.warning("Stored processed data of node %s is not JSON; its summary lists "
                    "nothing", uuid)
        data = {}
    summary = summarise(data if isinstance(data, dict) else {})
    await svc.repo.fleet.save_summary(uuid, name, summary, finished_at or utcnow())
    return 1
