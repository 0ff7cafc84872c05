"""Migration 0007 (the follower's tables) and the FollowerStore on SQLite; collected again
on PostgreSQL and MariaDB by tests/integration/server_databases/test_follower.py (``url``)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from metalscope.storage import migrate
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.follower import FollowerState, FollowerStore, SeenInspection
from metalscope.storage.repository import Repository
from metalscope.storage.upstream_revisions import HEAD

BEFORE = "0006_history_finished_at"
REVISION = "0007_follower"
TABLES = {"follower_state", "follower_nodes"}
A = "11111111-1111-4111-8111-111111111111"
B = "22222222-2222-4222-8222-222222222222"
C = "33333333-3333-4333-8333-333333333333"
T = datetime.datetime(2026, 12, 6, 12, 0, 0, 123456)


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


def tables(url: str) -> set[str]:
    engine = create_sync_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def seen(uuid: str, finished: datetime.datetime, name: str = "n") -> SeenInspection:
    return SeenInspection(uuid, name, finished, finished - datetime.timedelta(minutes=1),
                          "agent")


async def test_upgrade_from_0006_adds_the_follower_tables(url: str) -> None:
    migrate.upgrade(url, BEFORE)
    assert not TABLES & tables(url)
    assert migrate.upgrade(url) is None
    assert migrate.schema_problem(url) is None
    assert tables(url) >= TABLES
    assert migrate.versions(url).metalscope == REVISION


def test_downgrade_to_0006_drops_them_and_keeps_the_history(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url, BEFORE)
    assert not TABLES & tables(url) and "introspection_history" in tables(url)
    assert migrate.versions(url).metalscope == BEFORE


def test_downgrade_to_upstream_and_adoption_again(url: str) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url)
    assert not TABLES & tables(url)
    assert migrate.upgrade(url) == HEAD
    assert tables(url) >= TABLES


async def test_the_store_keeps_state_queue_and_marks(url: str) -> None:
    migrate.upgrade(url)
    repo = Repository(create_engine(url))
    store = FollowerStore(repo.engine)
    try:
        assert not (await store.state()).started
        state = FollowerState(watermark=T, backfill_until=T, backfill_marker=A,
                              anchor_uuid=B, anchor_finished_at=T)
        await store.save_state(state, T)
        assert await store.state() == state  # microseconds kept on every database
        queued = await store.queue([seen(A, T), seen(B, T)], T,
                                   FollowerState(watermark=T, backfill_done=True))
        assert sorted(queued) == [A, B] and (await store.state()).backfill_done
        # Known inspections are not queued again; a newer one is.
        later = T + datetime.timedelta(seconds=5)
        assert await store.queue([seen(A, T), seen(B, later)], T) == [B]
        assert [p.uuid for p in await store.due(T, 10)] == [B, A]  # newest first
        assert await store.due(T - datetime.timedelta(seconds=1), 10) == []
        assert await store.recorded(A, T)
        assert not await store.recorded(B, T)  # a newer inspection is queued
        await store.failed(B, later, "boom", T + datetime.timedelta(seconds=30))
        row = await store.node(B)
        assert (row.attempts, row.last_error) == (1, "boom")
        assert await store.due(T, 10) == []
        assert await store.pending_count() == 1
        await store.postpone(B, T)
        assert [p.uuid for p in await store.due(T, 10)] == [B]
        assert await store.known_between(A, None) == [B]
        assert await store.mark_deleted([B, C], T) == [B]
        assert await store.mark_deleted([B], T) == []
        assert set(await store.deleted()) == {B} and await store.known_between(None, None) == [A]
        assert await store.due(T, 10) == []
        # A deleted node inspected again (same UUID back) is followed again.
        assert await store.queue([seen(B, later + datetime.timedelta(seconds=1))], T) == [B]
        assert B not in await store.deleted()
    finally:
        await repo.engine.dispose()


async def test_a_followed_node_gets_a_finished_record_once(url: str) -> None:
    migrate.upgrade(url)
    repo = Repository(create_engine(url))
    store = FollowerStore(repo.engine)
    try:
        assert await store.settle_record(A, None, T)
        assert not await store.settle_record(A, T, T + datetime.timedelta(minutes=1))
        record = await repo.get_node(A)
        assert record is not None and record.state.value == "finished"
        assert record.finished_at == T + datetime.timedelta(minutes=1)
        # MetalScope's own introspection of the node is left alone.
        await repo.start_introspection(B, False, [], None)
        assert not await store.settle_record(B, T, T)
        started = await repo.get_node(B)
        assert started is not None and started.state.value == "starting"
    finally:
        await repo.engine.dispose()
