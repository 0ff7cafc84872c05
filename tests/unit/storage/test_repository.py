"""The repository against a real SQLite database (compare-and-set, lookup scoring, rules)."""

from __future__ import annotations

import asyncio
import datetime

import pytest
import sqlalchemy as sa

from metalscope.errors import Conflict, InvalidTransition, StateConflict
from metalscope.rules.model import Action, Condition, Rule
from metalscope.state_machine import Event, State
from metalscope.storage import tables as t
from metalscope.storage.repository import Repository

UUID_A = "11111111-1111-4111-8111-111111111111"
UUID_B = "22222222-2222-4222-8222-222222222222"
UUID_C = "33333333-3333-4333-8333-333333333333"


class TestStatusRecords:
    async def test_start_creates_starting_record(self, repo: Repository) -> None:
        """A start creates a record in starting with BMC attributes."""
        record = await repo.start_introspection(UUID_A, True, ["192.0.2.1"], None)
        assert record.state is State.STARTING and not record.finished
        assert await repo.attributes_of(UUID_A) == {"bmc_address": ["192.0.2.1"]}
        assert (await repo.get_node(UUID_A)) == record

    async def test_transition_is_compare_and_set(self, repo: Repository) -> None:
        """A transition from a stale record loses with StateConflict."""
        record = await repo.start_introspection(UUID_A, True, [], None)
        waiting = await repo.transition(record, Event.WAIT)
        assert waiting.state is State.WAITING
        with pytest.raises(StateConflict):
            await repo.transition(record, Event.WAIT)

    async def test_concurrent_transitions_one_wins(self, repo: Repository) -> None:
        """Of two concurrent process events on the same record exactly one succeeds."""
        record = await repo.transition(await repo.start_introspection(UUID_A, True, [], None),
                                       Event.WAIT)
        results = await asyncio.gather(repo.transition(record, Event.PROCESS),
                                       repo.transition(record, Event.PROCESS),
                                       return_exceptions=True)
        assert sum(isinstance(r, StateConflict) for r in results) == 1

    async def test_invalid_event_changes_nothing(self, repo: Repository) -> None:
        """An event the table refuses raises and leaves the record alone."""
        record = await repo.start_introspection(UUID_A, True, [], None)
        with pytest.raises(InvalidTransition):
            await repo.transition(record, Event.PROCESS)
        assert (await repo.get_node(UUID_A)).state is State.STARTING  # type: ignore[union-attr]

    async def test_terminal_transition_finishes_and_drops_attributes(self,
                                                                     repo: Repository) -> None:
        """Reaching error sets finished_at and error and deletes lookup attributes."""
        record = await repo.start_introspection(UUID_A, True, ["192.0.2.1"], None)
        await repo.add_attributes(UUID_A, "mac", ["aa:bb:cc:dd:ee:ff"])
        failed = await repo.transition(record, Event.ERROR, error="boom")
        assert failed.finished and failed.error == "boom" and failed.state is State.ERROR
        assert await repo.attributes_of(UUID_A) == {}

    async def test_settle_stores_data_and_returns_the_macs_it_drops(self, repo: Repository) -> None:
        """settle: the final transition, the processed data and the MACs in one go."""
        record = await repo.start_introspection(UUID_A, True, ["192.0.2.1"], None)
        await repo.add_attributes(UUID_A, "mac", ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"])
        record = await repo.transition(await repo.transition(record, Event.WAIT), Event.PROCESS)
        done, macs = await repo.settle(record, Event.FINISH, processed='{"cpus":4}')
        assert done.state is State.FINISHED and done.finished and done.error is None
        assert sorted(macs) == ["aa:bb:cc:dd:ee:01", "aa:bb:cc:dd:ee:02"]
        assert await repo.get_data(UUID_A, True) == '{"cpus":4}'
        assert await repo.attributes_of(UUID_A) == {}

    async def test_settle_from_a_stale_record_writes_nothing(self, repo: Repository) -> None:
        """A lost compare-and-set leaves neither the data nor the state changed."""
        record = await repo.start_introspection(UUID_A, True, [], None)
        await repo.add_attributes(UUID_A, "mac", ["aa:bb:cc:dd:ee:01"])
        await repo.transition(record, Event.WAIT)
        with pytest.raises(StateConflict):
            await repo.settle(record, Event.ERROR, error="late", processed='{"x":1}')
        assert await repo.get_data(UUID_A, True) is None
        assert await repo.attributes_of(UUID_A) == {"mac": ["aa:bb:cc:dd:ee:01"]}
        assert (await repo.get_node(UUID_A)).state is State.WAITING  # type: ignore[union-attr]

    async def test_begin_processing_records_and_reads_rules(self, repo: Repository) -> None:
        """begin_processing: unprocessed data, digest and move in one go; rules read along."""
        await repo.create_rule(Rule(uuid=UUID_B, actions=[Action("fail", {"message": "x"})]))
        record = await repo.transition(await repo.start_introspection(UUID_A, True, [], None),
                                       Event.WAIT)
        moved, rules = await repo.begin_processing(record, '{"raw":1}', "d" * 64)
        assert moved.state is State.PROCESSING and [r.uuid for r in rules] == [UUID_B]
        assert await repo.get_data(UUID_A, False) == '{"raw":1}'
        assert await repo.callback_node("d" * 64) == UUID_A
        same, _ = await repo.begin_processing(moved, None, None, move=False)
        assert same == moved

    async def test_restart_replaces_record_and_data(self, repo: Repository) -> None:
        """A new start wipes the previous record's attributes and stored data."""
        first = await repo.start_introspection(UUID_A, True, ["192.0.2.1"], None)
        await repo.store_data(UUID_A, True, {"a": 1})
        second = await repo.start_introspection(UUID_A, False, [], first)
        assert second.version_id != first.version_id and not second.manage_boot
        assert await repo.get_data(UUID_A, True) is None
        with pytest.raises(StateConflict):
            await repo.start_introspection(UUID_A, False, [], first)

    async def test_list_order_and_marker(self, repo: Repository) -> None:
        """Records list newest first, and a marker continues after itself."""
        await repo.start_introspection(UUID_A, True, [], None)
        await asyncio.sleep(0.01)
        await repo.start_introspection(UUID_B, True, [], None)
        listed = await repo.list_nodes(None, 10, None)
        assert [r.uuid for r in listed] == [UUID_B, UUID_A]
        after = await repo.list_nodes(listed[0], 10, None)
        assert [r.uuid for r in after] == [UUID_A]
        assert await repo.list_nodes(None, 10, ["finished"]) == []


class TestLookup:
    async def test_scores_count_matching_rows(self, repo: Repository) -> None:
        """Each matching attribute row gives one point to its node (spec 4.3)."""
        await repo.start_introspection(UUID_A, True, ["10.0.0.5"], None)
        await repo.start_introspection(UUID_B, True, ["10.0.0.5"], None)
        await repo.add_attributes(UUID_A, "mac", ["aa:00:00:00:00:01"])
        await repo.add_attributes(UUID_B, "mac", ["aa:00:00:00:00:02"])
        scores = await repo.score_by_attributes(
            {"bmc_address": ["10.0.0.5"], "mac": ["aa:00:00:00:00:02", "aa:00:00:00:00:03"]})
        assert scores == {UUID_A: 1, UUID_B: 2}
        assert await repo.score_by_attributes({"bmc_address": [], "mac": []}) == {}


class TestData:
    async def test_store_replaces(self, repo: Repository) -> None:
        """Saving data twice keeps the last copy, per processed flag."""
        await repo.start_introspection(UUID_A, True, [], None)
        await repo.store_data(UUID_A, True, {"v": 1})
        await repo.store_data(UUID_A, True, {"v": 2})
        await repo.store_data(UUID_A, False, {"raw": True})
        assert await repo.get_data(UUID_A, True) == '{"v":2}'
        assert await repo.get_data(UUID_A, False) == '{"raw":true}'


class TestRules:
    async def test_round_trip_and_order(self, repo: Repository) -> None:
        """Rules come back as stored, oldest first, conditions and actions in order."""
        first = Rule(uuid=UUID_A, description="one", scope=None,
                     conditions=[Condition("eq", "memory_mb", params={"value": 1024}),
                                 Condition("is-empty", "x", "all", True)],
                     actions=[Action("fail", {"message": "boom"}),
                              Action("add-trait", {"name": "T"})])
        await repo.create_rule(first)
        await asyncio.sleep(0.01)
        await repo.create_rule(Rule(uuid=UUID_B, actions=[Action("fail", {"message": "x"})]))
        rules = await repo.list_rules()
        assert [r.uuid for r in rules] == [UUID_A, UUID_B]
        loaded = await repo.get_rule(UUID_A)
        assert loaded is not None and loaded.conditions == first.conditions
        assert loaded.actions == first.actions

    async def test_same_created_at_in_upstream_order(self, repo: Repository) -> None:
        """Rules created in the same second (whole-second DATETIME on MySQL) come in the order
        of ironic-inspector's query: first condition, first action, NULL where the database
        sorts it (first on SQLite and MariaDB, last on PostgreSQL)."""
        fail = [Action("fail", {"message": "x"})]
        condition = [Condition("eq", "a", params={"value": 1})]
        await repo.create_rule(Rule(uuid=UUID_B, conditions=condition, actions=fail))
        await repo.create_rule(Rule(uuid=UUID_A, actions=fail))
        await repo.create_rule(Rule(uuid=UUID_C, conditions=condition, actions=fail))
        async with repo.engine.begin() as conn:
            await conn.execute(sa.update(t.rules).values(
                created_at=datetime.datetime(2023, 1, 1)))
        with_conditions = [UUID_B, UUID_C]
        expected = ([*with_conditions, UUID_A] if repo.engine.dialect.name == "postgresql"
                    else [UUID_A, *with_conditions])
        assert [r.uuid for r in await repo.list_rules()] == expected

    async def test_rows_written_by_upstream(self, repo: Repository) -> None:
        """NULL invert and disabled, upstream's JSON spacing: the rule reads as created."""
        async with repo.engine.begin() as conn:
            await conn.execute(sa.insert(t.rules).values(
                uuid=UUID_A, created_at=datetime.datetime(2023, 1, 1), description=None,
                disabled=None, scope=None))
            await conn.execute(sa.insert(t.rule_conditions).values(
                rule=UUID_A, op="eq", multiple="any", invert=None, field="memory_mb",
                params='{"value": 1024}'))
            await conn.execute(sa.insert(t.rule_actions).values(
                rule=UUID_A, action="set-attribute", params='{"path": "/extra/a", "value": "b"}'))
        rule = await repo.get_rule(UUID_A)
        assert rule is not None and rule.conditions == [
            Condition("eq", "memory_mb", "any", False, {"value": 1024})]
        assert rule.actions == [Action("set-attribute", {"path": "/extra/a", "value": "b"})]

    async def test_duplicate_uuid_conflicts(self, repo: Repository) -> None:
        """A second rule with the same UUID is refused with the upstream message."""
        await repo.create_rule(Rule(uuid=UUID_A, actions=[Action("fail", {"message": "x"})]))
        with pytest.raises(Conflict, match=f"Rule with UUID {UUID_A} already exists"):
            await repo.create_rule(Rule(uuid=UUID_A, actions=[Action("fail", {"message": "x"})]))

    async def test_delete(self, repo: Repository) -> None:
        """Deleting one rule or all of them removes them."""
        await repo.create_rule(Rule(uuid=UUID_A, actions=[Action("fail", {"message": "x"})]))
        assert await repo.delete_rule(UUID_A) and not await repo.delete_rule(UUID_A)
        await repo.create_rule(Rule(uuid=UUID_B, actions=[Action("fail", {"message": "x"})]))
        await repo.delete_all_rules()
        assert await repo.list_rules() == []
