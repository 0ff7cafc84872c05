"""Copying stored data between stores: the outcome of each copy, and the summary.

The stores are in-memory fakes over a real SQLite repository (the node records); the real
database and Swift stores are copied between in tests/integration/test_swift_store.py.
"""

from __future__ import annotations

import json
from typing import Any

from metalscope.errors import ObjectMissing, ObjectStorageError
from metalscope.storage.data_migration import (
    FAILED,
    NO_CONTENT,
    SUCCESS,
    CopyOutcome,
    copy_all,
    copy_one,
    summary,
)
from metalscope.storage.repository import Repository

A = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
B = "2be26c0b-03f2-4d2e-ae87-c02d7f33c124"


class MemoryStore:
    """A data store in a dict; ``broken`` makes every save fail, ``missing`` raises
    ObjectMissing for copies it lacks (as the swift store does)."""

    enabled = True
    in_repository = False

    def __init__(self, texts: dict[tuple[str, bool], str] | None = None, *,
                 broken: bool = False, missing: bool = False) -> None:
        self.texts = dict(texts or {})
        self.broken = broken
        self.missing = missing

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        if self.broken:
            raise ObjectStorageError("Swift failed to create container c. Error was: boom")
        self.texts[(uuid, processed)] = json.dumps(data)

    async def get(self, uuid: str, processed: bool) -> str | None:
        text = self.texts.get((uuid, processed))
        if text is None and self.missing:
            raise ObjectMissing("Swift failed to get object o in container c. Error was: 404")
        return text

    async def aclose(self) -> None:
        return None


async def test_copies_a_stored_copy() -> None:
    source, target = MemoryStore({(A, True): '{"a": 1}'}), MemoryStore()
    assert await copy_one(source, target, A, True) == CopyOutcome(A, True, SUCCESS)
    assert target.texts == {(A, True): '{"a": 1}'}


async def test_nothing_stored_is_no_content() -> None:
    source = MemoryStore({(A, True): "{}"}, missing=True)
    target = MemoryStore()
    assert (await copy_one(source, target, A, True)).result == NO_CONTENT  # empty document
    assert (await copy_one(source, target, A, False)).result == NO_CONTENT  # no object
    assert (await copy_one(MemoryStore(), target, A, False)).result == NO_CONTENT  # no row
    assert target.texts == {}


async def test_failure_names_the_error() -> None:
    source, target = MemoryStore({(A, True): '{"a": 1}'}), MemoryStore(broken=True)
    outcome = await copy_one(source, target, A, True)
    assert outcome == CopyOutcome(A, True, FAILED,
                                  "Swift failed to create container c. Error was: boom")
    assert outcome.line() == (f"{A} (processed=True): failed: Swift failed to create container "
                              "c. Error was: boom")


async def test_failure_forgiven_when_the_target_has_the_copy() -> None:
    source = MemoryStore({(A, True): '{"a": 1}'})
    target = MemoryStore({(A, True): '{"a": 0}'}, broken=True)
    assert (await copy_one(source, target, A, True)).result == SUCCESS


async def test_unreadable_source_fails() -> None:
    source = MemoryStore({(A, True): "not json"})
    assert (await copy_one(source, MemoryStore(), A, True)).result == FAILED


async def test_copy_all_takes_both_copies_of_every_record(repo: Repository) -> None:
    for uuid in (A, B):
        await repo.start_introspection(uuid, False, [], None)
    source = MemoryStore({(A, True): '{"p": 1}', (A, False): '{"u": 1}', (B, False): '{"u": 2}'})
    target = MemoryStore()
    outcomes = await copy_all(repo, source, target)
    assert sorted((o.uuid, o.processed, o.result) for o in outcomes) == [
        (A, False, SUCCESS), (A, True, SUCCESS), (B, False, SUCCESS), (B, True, NO_CONTENT)]
    assert target.texts == source.texts


def test_summary_is_upstreams() -> None:
    ok = [CopyOutcome(A, True, SUCCESS), CopyOutcome(A, False, NO_CONTENT)]
    assert summary(ok) == ("Finished introspection data migration, total records: 2. "
                           "all records are migrated successfully.")
    failed = [*ok, CopyOutcome(B, False, FAILED, "boom")]
    assert summary(failed) == ("Finished introspection data migration, total records: 3. "
                               f"Failed to migrate:\n{B}(processed=False)")
    assert summary([]) == "Finished introspection data migration, total records: 0. "
