"""Stored introspection data copied from one store to another (``metalscope data migrate``),
as upstream's ``ironic-inspector-migrate-data`` copies it (spec 9.3).

Both copies (processed, unprocessed) of every node record the database knows are read from
the source and saved to the target, one after the other. Each copy ends as:

* ``success``: saved to the target; also when saving failed but the target already holds
  that copy (an earlier run copied it);
* ``no content``: the source holds nothing for it (nothing stored, an empty document, or no
  such Swift object; upstream counts a missing copy as failed, unless the target has it);
* ``failed``: reading or saving failed and the target does not hold the copy.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from metalscope.errors import ObjectMissing
from metalscope.storage.data_store import DataStore
from metalscope.storage.repository import Repository

LOG = logging.getLogger(__name__)

SUCCESS = "success"
NO_CONTENT = "no content"
FAILED = "failed"


@dataclass(frozen=True)
class CopyOutcome:
    """What became of one copy of one node's data."""

    uuid: str
    processed: bool
    result: str
    #: Why it failed (None unless ``result`` is ``failed``).
    error: str | None = None

    def line(self) -> str:
        text = f"{self.uuid} (processed={self.processed}): {self.result}"
        return f"{text}: {self.error}" if self.error else text


async def copy_one(source: DataStore, target: DataStore, uuid: str,
                   processed: bool) -> CopyOutcome:
    """Copy one node's processed or unprocessed data from ``source`` to ``target``."""
    try:
        try:
            text = await source.get(uuid, processed)
        except ObjectMissing:
            text = None
        data = json.loads(text) if text else None
        if not data:
            return CopyOutcome(uuid, processed, NO_CONTENT)
        await target.save(uuid, processed, data)
    except Exception as exc:
        if await _holds(target, uuid, processed):
            return CopyOutcome(uuid, processed, SUCCESS)
        LOG.error("Copying the data of node %s (processed=%s) failed: %s", uuid, processed, exc)
        return CopyOutcome(uuid, processed, FAILED, str(exc) or type(exc).__name__)
    return CopyOutcome(uuid, processed, SUCCESS)


async def _holds(store: DataStore, uuid: str, processed: bool) -> bool:
    try:
        return bool(await store.get(uuid, processed))
    except Exception:
        return False


async def copy_all(repo: Repository, source: DataStore,
                   target: DataStore) -> list[CopyOutcome]:
    """Both copies of every node record, in the order of the records."""
    return [await copy_one(source, target, uuid, processed)
            for uuid in await repo.all_uuids() for processed in (True, False)]


def summary(outcomes: Iterable[CopyOutcome]) -> str:
    """Upstream's closing message: the total, then the copies that failed, if any."""
    outcomes = list(outcomes)
    text = f"Finished introspection data migration, total records: {len(outcomes)}. "
    failed = [o for o in outcomes if o.result == FAILED]
    if failed:
        return text + "Failed to migrate:\n" + "\n".join(
            f"{o.uuid}(processed={o.processed})" for o in failed)
    return text + "all records are migrated successfully." if outcomes else text
