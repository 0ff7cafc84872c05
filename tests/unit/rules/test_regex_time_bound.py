"""The time bound on ``matches`` and ``contains`` (``[processing]rule_regex_timeout``).

``(a|a)+$`` on ``"a" * 40 + "b"`` backtracks through 2**40 ways before it fails: with
Python's ``re`` that takes hours. Here it must stop at the limit, name the rule and the
condition, and (run off the loop) leave the event loop free meanwhile.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, load_group
from metalscope.node_changes import NodeChanges
from metalscope.rules.conditions import (
    ContainsCondition,
    MatchesCondition,
    TimeBoundCondition,
    compile_pattern,
)
from metalscope.rules.engine import (
    RuleTimeout,
    apply_rules,
    apply_rules_off_loop,
    condition_holds,
    matching_rules,
)
from metalscope.rules.model import Rule
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.rules.validation import parse_rule

SLOW = "(a|a)+$"
HOSTILE = "a" * 40 + "b"
RULE_UUID = "8a8c9d4e-1b2f-4c3d-9e8f-0a1b2c3d4e5f"
NODE = {"uuid": "3f7a2a4e-9c4b-4d51-8d7e-0c3b5a1f2e01", "properties": {}, "extra": {}}


@pytest.fixture
def conditions() -> dict[str, RuleCondition]:
    return {name: ep.load()() for name, ep in load_group(CONDITIONS_GROUP).items()}


@pytest.fixture
def actions() -> dict[str, RuleAction]:
    return {name: ep.load()() for name, ep in load_group(ACTIONS_GROUP).items()}


def rule(conditions: dict[str, RuleCondition], actions: dict[str, RuleAction],
         cond: dict[str, Any], description: str | None = "slow pattern") -> Rule:
    body = {"uuid": RULE_UUID, "description": description, "conditions": [cond],
            "actions": [{"action": "set-attribute", "path": "/extra/matched", "value": "yes"}]}
    return parse_rule(body, conditions, actions)


class TestOperators:
    @pytest.mark.parametrize("operator", [MatchesCondition(), ContainsCondition()])
    def test_time_bound(self, operator: Any) -> None:
        """Both regex operators stop a catastrophic match at the limit."""
        assert isinstance(operator, TimeBoundCondition)
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            operator.check_within(HOSTILE, {"value": SLOW}, 0.05)
        assert time.monotonic() - started < 0.5

    def test_no_time_left_is_a_timeout(self) -> None:
        """Zero or negative time left stops at once (regex itself reads a negative limit as
        none at all)."""
        for seconds in (0.0, -1.0):
            with pytest.raises(TimeoutError):
                MatchesCondition().check_within("a", {"value": "a"}, seconds)

    def test_quick_patterns_are_unaffected(self) -> None:
        """Python ``re`` semantics within the limit: anchored full match, search."""
        assert MatchesCondition().check_within("foo", {"value": "fo+"}, 1.0) is True
        assert MatchesCondition().check_within("foo", {"value": "o{1,2}"}, 1.0) is False
        assert ContainsCondition().check_within("foo", {"value": "o{1,2}"}, 1.0) is True

    @pytest.mark.parametrize("pattern", [r"\p{L}", r"(?<name>a)", r"\K", "[0-9", 5])
    def test_validation_accepts_what_re_accepts_only(self, pattern: Any) -> None:
        """Patterns only the regex module knows are refused as upstream refuses them."""
        with pytest.raises(ValueError, match=r"^invalid regular expression: "):
            compile_pattern(pattern)


class TestEngine:
    def test_timeout_names_rule_and_condition(self, conditions: dict[str, RuleCondition],
                                              actions: dict[str, RuleAction]) -> None:
        """The node's error names the rule (uuid, description), the condition and the
        option; no action has run."""
        slow = rule(conditions, actions, {"op": "matches", "field": "data://name", "value": SLOW})
        node = NodeChanges(NODE, [])
        with pytest.raises(RuleTimeout) as caught:
            apply_rules([slow], {"name": HOSTILE}, node, conditions, actions, regex_timeout=0.1)
        assert str(caught.value) == (
            f"Rule {RULE_UUID} (slow pattern): condition data://name matches '{SLOW}' did not "
            "finish within 0.1 s ([processing]rule_regex_timeout) and was stopped; no rule "
            "action was run")
        assert node.pending.node_patch == []

    def test_bound_is_shared_by_every_value(self, conditions: dict[str, RuleCondition],
                                            actions: dict[str, RuleAction]) -> None:
        """``multiple: all`` over 50 hostile values stops after one limit, not 50."""
        slow = rule(conditions, actions, {"op": "contains", "field": "names[*]", "value": SLOW,
                                          "multiple": "all", "invert": True})
        started = time.monotonic()
        with pytest.raises(RuleTimeout, match=r"\(multiple: all\)"):
            matching_rules([slow], {"names": [HOSTILE] * 50}, NodeChanges(NODE, []), conditions,
                           regex_timeout=0.2)
        assert time.monotonic() - started < 1.0

    def test_many_quick_values_fit(self, conditions: dict[str, RuleCondition],
                                   actions: dict[str, RuleAction]) -> None:
        """A long list of ordinary values is checked in full well within the limit."""
        quick = rule(conditions, actions, {"op": "matches", "field": "macs[*]",
                                           "value": "([0-9a-f]{2}:){5}[0-9a-f]{2}",
                                           "multiple": "all"})
        macs = [f"52:54:00:00:{i // 256:02x}:{i % 256:02x}" for i in range(5000)]
        assert matching_rules([quick], {"macs": macs}, NodeChanges(NODE, []), conditions,
                              regex_timeout=1.0) == [quick]

    def test_condition_holds_alone(self, conditions: dict[str, RuleCondition],
                                   actions: dict[str, RuleAction]) -> None:
        """Called directly (the dry run does), the timeout names the condition."""
        slow = rule(conditions, actions, {"op": "contains", "field": "name", "value": SLOW})
        with pytest.raises(RuleTimeout, match=r"^Condition name contains"):
            condition_holds(slow.conditions[0], conditions["contains"], {"name": HOSTILE}, {},
                            regex_timeout=0.05)


class TestOffLoop:
    async def test_loop_keeps_running(self, conditions: dict[str, RuleCondition],
                                      actions: dict[str, RuleAction]) -> None:
        """While a hostile pattern runs for its 0.5 s, the loop ticks every few ms."""
        slow = rule(conditions, actions, {"op": "matches", "field": "name", "value": SLOW})
        gaps: list[float] = []

        async def ticker() -> None:
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.005)
                now = time.monotonic()
                gaps.append(now - last)
                last = now

        ticking = asyncio.create_task(ticker())
        try:
            with pytest.raises(RuleTimeout):
                await apply_rules_off_loop([slow], {"name": HOSTILE}, NodeChanges(NODE, []),
                                           conditions, actions, regex_timeout=0.5)
        finally:
            ticking.cancel()
        assert len(gaps) > 20 and max(gaps) < 0.1

    async def test_actions_run(self, conditions: dict[str, RuleCondition],
                               actions: dict[str, RuleAction]) -> None:
        """A matching rule's actions run, on the loop, as apply_rules runs them."""
        ok = rule(conditions, actions, {"op": "matches", "field": "name", "value": "a+b"})
        node = NodeChanges(NODE, [])
        assert await apply_rules_off_loop([ok], {"name": HOSTILE}, node, conditions,
                                          actions) == [ok]
        assert node.node["extra"] == {"matched": "yes"}
