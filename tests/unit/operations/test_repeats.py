"""Recognising a callback taken already, from the digest recorded with its node."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from metalscope.operations.repeats import (
    Repeated,
    callback_digest,
    is_resumed,
    repeat_by_digest,
    repeat_of,
)
from metalscope.state_machine import Event
from metalscope.storage.repository import NodeRecord, Repository
from tests.factories import settings

UUID = "0c6f8a52-6f0b-4d9b-8d5e-6a8f5f3c2b10"
DIGEST = callback_digest(b'{"inventory": {}}')
OTHER = callback_digest(b'{"inventory": {"x": 1}}')


def services(repo: Repository, window: int = 60) -> Any:
    return SimpleNamespace(repo=repo,
                           settings=settings(processing={"ramdisk_retry_window": window}))


async def processing(repo: Repository) -> NodeRecord:
    record = await repo.start_introspection(UUID, False, [], None)
    record = await repo.transition(record, Event.WAIT)
    record, _ = await repo.begin_processing(record, None, DIGEST)
    return record


async def test_digest_is_of_the_bytes() -> None:
    assert callback_digest(b"{}") != callback_digest(b"{ }")
    assert len(callback_digest(b"{}")) == 64


async def test_resumed_only_by_its_own_body(repo: Repository) -> None:
    record = await processing(repo)
    svc = services(repo)
    assert await is_resumed(svc, record, DIGEST)
    assert not await is_resumed(svc, record, OTHER)
    assert not await is_resumed(svc, record, None)


async def test_repeat_of_a_finished_node_within_the_window(repo: Repository) -> None:
    finished, _ = await repo.settle(await processing(repo), Event.FINISH)
    svc = services(repo)
    assert await repeat_of(svc, finished, DIGEST) == Repeated(finished)
    assert await repeat_by_digest(svc, DIGEST) == Repeated(finished)
    assert await repeat_of(svc, finished, OTHER) is None
    assert await repeat_by_digest(svc, OTHER) is None
    assert await repeat_by_digest(svc, None) is None


async def test_no_repeat_when_the_window_is_off_or_unfinished(repo: Repository) -> None:
    record = await processing(repo)
    assert await repeat_of(services(repo), record, DIGEST) is None  # not finished
    finished, _ = await repo.settle(record, Event.FINISH)
    assert await repeat_of(services(repo, window=0), finished, DIGEST) is None
    assert await repeat_by_digest(services(repo, window=0), DIGEST) is None
