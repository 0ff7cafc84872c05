"""``diff://`` condition fields: rules on the hardware diff of two inspections."""

from __future__ import annotations

import copy
import datetime
import io
from typing import Any

import pytest

from metalscope.cli.rules import read_diff
from metalscope.errors import RuleActionError, RuleValidationError
from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, ExtensionRegistry, load_group
from metalscope.node_changes import NodeChanges
from metalscope.rules.dry_run import dry_run, last_diff, load_inputs
from metalscope.rules.engine import apply_rules, apply_rules_off_loop, field_values
from metalscope.rules.exchange import parse_candidates
from metalscope.rules.model import Rule
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.rules.validation import parse_rule
from metalscope.storage.repository import Repository
from tests.factories import NODE_UUID, ironic_node, ramdisk_data, settings

MEMORY_DECREASED = {"op": "lt", "field": "diff://memory.total_mb.delta", "value": 0}
DISK_REMOVED = {"op": "is-empty", "field": "diff://components.disks.removed", "invert": True}
CATEGORIES = ("system", "firmware", "cpu", "memory", "disks", "nics", "pci", "accelerators",
              "boot")


def diff_document(memory_delta: int = 0, removed_disks: list[dict[str, Any]] | None = None,
                  ) -> dict[str, Any]:
    """A HardwareDiff document of the shared contract's shape."""
    components: dict[str, Any] = {c: {"added": [], "removed": [], "changed": []}
                                  for c in CATEGORIES}
    components["disks"]["removed"] = removed_disks or []
    return {"changed": bool(memory_delta or removed_disks), "summary": "…",
            "counts": {"added": 0, "removed": len(removed_disks or []),
                       "changed": int(bool(memory_delta))},
            "memory": {"total_mb": {"old": 65536, "new": 65536 + memory_delta,
                                    "delta": memory_delta}},
            "components": components}


SDB_REMOVED = [{"id": "serial:S3Z1NB0K", "attributes": {"name": "/dev/sdb", "size": 480}}]


@pytest.fixture
def conditions() -> dict[str, RuleCondition]:
    return {name: ep.load()() for name, ep in load_group(CONDITIONS_GROUP).items()}


@pytest.fixture
def actions() -> dict[str, RuleAction]:
    return {name: ep.load()() for name, ep in load_group(ACTIONS_GROUP).items()}


def rule(conditions: dict[str, RuleCondition], actions: dict[str, RuleAction],
         conds: list[dict[str, Any]], acts: list[dict[str, Any]]) -> Rule:
    return parse_rule({"conditions": conds, "actions": acts}, conditions, actions,
                      allow_diff=True)


def node() -> NodeChanges:
    return NodeChanges(ironic_node(), [])


class TestValidation:
    def test_refused_without_allow_diff_with_upstreams_message(
            self, conditions: dict[str, RuleCondition],
            actions: dict[str, RuleAction]) -> None:
        """Below API 1.19 a diff:// field is what upstream 1.18 makes of it: a 400."""
        with pytest.raises(RuleValidationError) as exc:
            parse_rule({"conditions": [MEMORY_DECREASED], "actions": [{"action": "example"}]},
                       conditions, actions)
        assert str(exc.value) == ("Unsupported scheme for field: diff, valid values are "
                                  "node:// or data://")

    def test_accepted_with_allow_diff(self, conditions: dict[str, RuleCondition],
                                      actions: dict[str, RuleAction]) -> None:
        made = rule(conditions, actions, [MEMORY_DECREASED, DISK_REMOVED],
                    [{"action": "add-trait", "name": "CUSTOM_DRIFTED"}])
        assert [c.field for c in made.conditions] == [MEMORY_DECREASED["field"],
                                                      DISK_REMOVED["field"]]
        assert made.conditions[1].invert is True

    def test_other_schemes_still_refused_with_allow_diff(
            self, conditions: dict[str, RuleCondition],
            actions: dict[str, RuleAction]) -> None:
        with pytest.raises(RuleValidationError, match="valid values are node://, data:// "
                                                      "or diff://"):
            rule(conditions, actions, [{"op": "eq", "field": "hist://x", "value": 1}],
                 [{"action": "example"}])

    def test_bad_path_refused(self, conditions: dict[str, RuleCondition],
                              actions: dict[str, RuleAction]) -> None:
        with pytest.raises(RuleValidationError, match="Unable to parse field JSON path"):
            rule(conditions, actions, [{"op": "eq", "field": "diff://memory[", "value": 1}],
                 [{"action": "example"}])

    def test_rules_files_accept_them(self) -> None:
        """``metalscope rules import`` validates as the latest API version does."""
        candidates = parse_candidates(
            [{"conditions": [DISK_REMOVED], "actions": [{"action": "fail", "message": "x"}]}],
            ExtensionRegistry.from_settings(settings()))
        assert candidates[0].rule is not None, candidates[0].message


class TestEvaluation:
    def test_memory_decreased(self, conditions: dict[str, RuleCondition],
                              actions: dict[str, RuleAction]) -> None:
        made = rule(conditions, actions, [MEMORY_DECREASED],
                    [{"action": "add-trait", "name": "CUSTOM_MEMORY_LOST"}])
        lost, same, more = node(), node(), node()
        assert apply_rules([made], {}, lost, conditions, actions,
                           diff=diff_document(memory_delta=-8192)) == [made]
        assert "CUSTOM_MEMORY_LOST" in lost.pending.traits_added
        assert apply_rules([made], {}, same, conditions, actions, diff=diff_document()) == []
        assert apply_rules([made], {}, more, conditions, actions,
                           diff=diff_document(memory_delta=4096)) == []
        assert not same.pending.traits_added and not more.pending.traits_added

    def test_any_disk_removed_fails_processing(self, conditions: dict[str, RuleCondition],
                                               actions: dict[str, RuleAction]) -> None:
        made = rule(conditions, actions, [DISK_REMOVED],
                    [{"action": "fail", "message": "a disk was removed"}])
        with pytest.raises(RuleActionError, match="a disk was removed"):
            apply_rules([made], {}, node(), conditions, actions,
                        diff=diff_document(removed_disks=SDB_REMOVED))
        assert apply_rules([made], {}, node(), conditions, actions,
                           diff=diff_document()) == []

    def test_no_previous_version_is_a_missing_field(
            self, conditions: dict[str, RuleCondition],
            actions: dict[str, RuleAction]) -> None:
        """Without a diff, a diff:// field is missing: ``lt`` is false; ``is-empty``
        (which allows a missing field) holds, so its inverted form does not."""
        decreased = rule(conditions, actions, [MEMORY_DECREASED], [{"action": "example"}])
        removed = rule(conditions, actions, [DISK_REMOVED], [{"action": "example"}])
        never = rule(conditions, actions,
                     [{"op": "is-empty", "field": "diff://components.disks.removed"}],
                     [{"action": "example"}])
        assert apply_rules([decreased, removed, never], {}, node(), conditions, actions,
                           diff=None) == [never]
        assert field_values("diff://memory", {"memory": 1}, {}, None) == []

    def test_data_and_node_fields_do_not_read_the_diff(self) -> None:
        diff = diff_document(memory_delta=-1)
        assert field_values("memory.total_mb.delta", {}, {}, diff) == []
        assert field_values("diff://memory.total_mb.delta", {}, {}, diff) == [-1]

    def test_mixed_with_data_conditions(self, conditions: dict[str, RuleCondition],
                                        actions: dict[str, RuleAction]) -> None:
        made = rule(conditions, actions,
                    [{"op": "eq", "field": "data://cpu_arch", "value": "x86_64"},
                     {"op": "ge", "field": "diff://counts.removed", "value": 1}],
                    [{"action": "add-trait", "name": "CUSTOM_DRIFT"}])
        diff = diff_document(removed_disks=SDB_REMOVED)
        assert apply_rules([made], {"cpu_arch": "x86_64"}, node(), conditions, actions,
                           diff=diff) == [made]
        assert apply_rules([made], {"cpu_arch": "aarch64"}, node(), conditions, actions,
                           diff=diff) == []

    async def test_off_loop(self, conditions: dict[str, RuleCondition],
                            actions: dict[str, RuleAction]) -> None:
        made = rule(conditions, actions, [MEMORY_DECREASED],
                    [{"action": "add-trait", "name": "CUSTOM_MEMORY_LOST"}])
        changes = node()
        assert await apply_rules_off_loop([made], {}, changes, conditions, actions,
                                          diff=diff_document(memory_delta=-1)) == [made]
        assert changes.pending.traits_added == ["CUSTOM_MEMORY_LOST"]

    def test_the_diff_is_not_changed(self, conditions: dict[str, RuleCondition],
                                     actions: dict[str, RuleAction]) -> None:
        diff = diff_document(removed_disks=SDB_REMOVED)
        before = copy.deepcopy(diff)
        apply_rules([rule(conditions, actions, [DISK_REMOVED], [{"action": "example"}])], {},
                    node(), conditions, actions, diff=diff)
        assert diff == before


class TestDryRun:
    def test_reason_names_the_missing_diff(self, conditions: dict[str, RuleCondition],
                                           actions: dict[str, RuleAction]) -> None:
        extensions = ExtensionRegistry.from_settings(settings())
        made = rule(conditions, actions, [MEMORY_DECREASED], [{"action": "example"}])
        result = dry_run([made], {}, node(), extensions)
        assert "no hardware diff" in (result.verdicts[0].reason or "")
        result = dry_run([made], {}, node(), extensions, diff=diff_document(memory_delta=-2))
        assert result.verdicts[0].matched


def test_rules_test_reads_a_diff_file() -> None:
    stream = io.StringIO('{"memory": {"total_mb": {"delta": -1}}}')
    stream.name = "diff.json"
    assert read_diff(stream)["memory"]["total_mb"]["delta"] == -1


class TestDiffFromHistory:
    """``rules test`` without ``--diff`` reads the diff of the node's last two versions."""

    @staticmethod
    async def record(repo: Repository, memory_mb: int) -> int:
        data = ramdisk_data()
        data["inventory"]["memory"]["physical_mb"] = memory_mb
        return await repo.record_version(
            NODE_UUID, started_at=None, finished_at=datetime.datetime.now(datetime.UTC),
            source="inband", processed=data, unprocessed=None, error=None, summary=None,
            changed=None)

    async def test_fewer_than_two_versions_give_no_diff(self, repo: Repository) -> None:
        assert await last_diff(repo, NODE_UUID) is None
        await self.record(repo, 65536)
        assert await last_diff(repo, NODE_UUID) is None

    async def test_the_last_two_versions(self, repo: Repository,
                                         conditions: dict[str, RuleCondition],
                                         actions: dict[str, RuleAction]) -> None:
        for memory in (131072, 65536, 57344):
            await self.record(repo, memory)
        diff = await last_diff(repo, NODE_UUID)
        assert diff is not None and diff["memory"]["total_mb"] == {
            "old": 65536, "new": 57344, "delta": -8192}
        made = rule(conditions, actions, [MEMORY_DECREASED],
                    [{"action": "add-trait", "name": "CUSTOM_MEMORY_LOST"}])
        await repo.create_rule(made)
        inputs = await load_inputs(repo, ironic_node(uuid=NODE_UUID), [])
        result = dry_run(inputs.rules, {}, NodeChanges(inputs.node, []),
                         ExtensionRegistry.from_settings(settings()), diff=inputs.diff)
        assert result.verdicts[0].matched
        assert result.changes.pending.traits_added == ["CUSTOM_MEMORY_LOST"]
