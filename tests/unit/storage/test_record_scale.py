"""Queries whose cost must not grow with the number of records: the listing's marker
pages, the EXISTS of an active introspection and the interrupted records (real SQLite,
with the query plans SQLite chooses)."""

from __future__ import annotations

import datetime
import uuid as uuidlib
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from metalscope.state_machine import State
from metalscope.storage import tables as t
from metalscope.storage.repository import NodeRecord, Repository

T0 = datetime.datetime(2026, 1, 1)


def _uuid(i: int) -> str:
    return str(uuidlib.UUID(int=i + 1))


async def _insert(repo: Repository, rows: list[dict[str, Any]]) -> None:
    async with repo.engine.begin() as conn:
        await conn.execute(sa.insert(t.nodes), rows)


def _row(i: int, state: State = State.FINISHED, started: datetime.datetime | None = T0,
         finished: bool | None = None) -> dict[str, Any]:
    done = state in (State.FINISHED, State.ERROR) if finished is None else finished
    return {"uuid": _uuid(i), "state": state.value, "version_id": "v", "started_at": started,
            "finished_at": started if done and started else (T0 if done else None),
            "error": None, "manage_boot": True}


class _Statements:
    """The SQL statements an engine runs, with their parameters."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []

    def __call__(self, _conn: Any, _cursor: Any, statement: str, parameters: Any,
                 _context: Any, _many: bool) -> None:
        self.seen.append((statement, parameters))


@pytest.fixture
def statements(repo: Repository) -> Iterator[_Statements]:
    recorder = _Statements()
    engine = repo.engine.sync_engine
    sa.event.listen(engine, "before_cursor_execute", recorder)
    yield recorder
    sa.event.remove(engine, "before_cursor_execute", recorder)


async def _plan(repo: Repository, statement: str, parameters: Any) -> str:
    async with repo.engine.connect() as conn:
        rows = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)).all()
    return "\n".join(str(row[-1]) for row in rows)


class TestListingPages:
    async def test_marker_pages_walk_every_record_once_in_order(self, repo: Repository) -> None:
        """Pages after a marker continue the order exactly, with ties on started_at broken
        by uuid and the records without a start time last."""
        rows = [_row(i, started=T0 + datetime.timedelta(seconds=i // 3)) for i in range(20)]
        rows += [_row(20 + i, started=None) for i in range(3)]
        await _insert(repo, rows)
        expected = [r["uuid"] for r in sorted(rows[:20], key=lambda r: (r["started_at"],
                                                                         r["uuid"]),
                                              reverse=True)]
        expected += sorted((r["uuid"] for r in rows[20:]), reverse=True)
        walked: list[str] = []
        marker: NodeRecord | None = None
        while True:
            page = await repo.list_nodes(marker, 4, None)
            if not page:
                break
            walked += [r.uuid for r in page]
            marker = page[-1]
        assert walked == expected

    async def test_listed_records_are_the_records(self, repo: Repository) -> None:
        """The listing's records (unpacked by position) equal what get_node reads."""
        await repo.start_introspection(_uuid(40), False, [], None, method="redfish")
        await _insert(repo, [_row(0), _row(1, State.ERROR), _row(2, State.WAITING)])
        async with repo.engine.begin() as conn:
            await conn.execute(sa.update(t.nodes).where(t.nodes.c.uuid == _uuid(0)).values(
                manage_boot=None, error="boom"))
        listed = await repo.list_nodes(None, 10, None)
        assert len(listed) == 4
        assert listed == [await repo.get_node(r.uuid) for r in listed]
        assert {r.method for r in listed} == {"inband", "redfish"}

    async def test_marker_page_with_states(self, repo: Repository) -> None:
        """The state filter and the marker combine."""
        await _insert(repo, [_row(i, State.ERROR if i % 2 else State.FINISHED,
                                  started=T0 + datetime.timedelta(seconds=i))
                             for i in range(10)])
        first = await repo.list_nodes(None, 2, ["error"])
        assert [r.uuid for r in first] == [_uuid(9), _uuid(7)]
        second = await repo.list_nodes(first[-1], 10, ["error"])
        assert [r.uuid for r in second] == [_uuid(5), _uuid(3), _uuid(1)]

    async def test_deep_page_walks_the_start_index_without_sorting(
            self, repo: Repository, statements: _Statements) -> None:
        """SQLite serves a marker page from the (started_at, uuid) index: no sort of every
        record."""
        await _insert(repo, [_row(i, started=T0 + datetime.timedelta(seconds=i))
                             for i in range(50)])
        marker = await repo.get_node(_uuid(25))
        assert marker is not None
        statements.seen.clear()
        await repo.list_nodes(marker, 5, None)
        (statement, parameters), = statements.seen
        plan = await _plan(repo, statement, parameters)
        assert "nodes_started_at_idx" in plan
        assert "TEMP B-TREE" not in plan


class TestAnyActive:
    @pytest.mark.parametrize("state", [State.STARTING, State.WAITING, State.PROCESSING,
                                       State.ENROLLING, State.ABORTING, State.REAPPLYING])
    async def test_an_unfinished_record_is_active(self, repo: Repository,
                                                  state: State) -> None:
        await _insert(repo, [_row(0), _row(1, State.ERROR), _row(2, state, finished=False)])
        assert await repo.any_active()

    async def test_finished_records_are_not(self, repo: Repository) -> None:
        """Finished and failed records, and a reapply of a finished record (which keeps its
        finished_at), do not count."""
        assert not await repo.any_active()
        await _insert(repo, [_row(0), _row(1, State.ERROR),
                             _row(2, State.REAPPLYING, finished=True)])
        assert not await repo.any_active()

    async def test_one_exists_query_on_an_index(
            self, repo: Repository, statements: _Statements) -> None:
        await _insert(repo, [_row(i) for i in range(30)])
        statements.seen.clear()
        await repo.any_active()
        (statement, parameters), = statements.seen
        assert "EXISTS" in statement.upper()
        plan = await _plan(repo, statement, parameters)
        # An index search (of the states or of the unfinished), never a scan of the records.
        assert "SEARCH nodes USING" in plan and "SCAN nodes" not in plan, plan


class TestUnsettled:
    async def test_only_working_states(self, repo: Repository) -> None:
        states = list(State)
        await _insert(repo, [_row(i, state, finished=state in (State.FINISHED, State.ERROR))
                             for i, state in enumerate(states)])
        found = {r.state for r in await repo.unsettled()}
        assert found == {State.STARTING, State.PROCESSING, State.REAPPLYING, State.ABORTING,
                         State.ENROLLING}

    async def test_each_state_read_from_the_state_index(
            self, repo: Repository, statements: _Statements) -> None:
        """One equality per working state, each a search of the state index (not a scan of
        the records)."""
        await _insert(repo, [_row(i) for i in range(30)] + [_row(30, State.PROCESSING)])
        statements.seen.clear()
        await repo.unsettled()
        seen = list(statements.seen)
        assert len(seen) == 5
        for statement, parameters in seen:
            plan = await _plan(repo, statement, parameters)
            assert "SEARCH nodes USING" in plan and "nodes_state_idx" in plan, plan
