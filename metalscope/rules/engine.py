"""Applying introspection rules to a node (spec 7.3 to 7.5, 7.9).

Phase 1 (:func:`matching_rules`) checks every rule's scope and conditions against the
processed data and the node as it stands after the hooks; phase 2 (:func:`apply_rules`)
runs the actions of the matching rules, rule by rule, so actions cannot change which rules
match in the same run. A dry run can call phase 1 alone.

A condition field is ``[scheme://]path``: scheme ``data`` (the default) reads the
processed introspection data, ``node`` reads the Ironic node's REST JSON plus the
openstacksdk names of spec 7.9 (``id``, ``is_maintenance`` ...), so rules written for either
representation work. Scheme ``diff`` (MetalScope's, API 1.19) reads the hardware diff
between the node's previous inspection and this one (``HardwareDiff.document()`` of
:mod:`metalscope.hardware`); without a previous inspection there is no diff, and a
``diff://`` field is missing, as a data path that matches nothing. Paths are jsonpath-rw
expressions.

A value the operator cannot compare (quirk Q-RULE-3, see :mod:`metalscope.rules.conditions`)
counts as false, even for an inverted condition, and is logged as a warning.

Time bound. A time-bound operator (``matches``, ``contains``:
:class:`~metalscope.rules.conditions.TimeBoundCondition`) gets ``regex_timeout`` seconds
(``[processing]rule_regex_timeout``) for one condition, shared by every value the condition
looks at (``multiple`` over a long list included). Past it, matching stops with
:class:`RuleTimeout` naming the rule and the condition, before any action runs. Phase 1
therefore takes at most ``regex_timeout`` per regex condition of the rules (plus the cheap
operators). :func:`apply_rules_off_loop` runs phase 1 in a worker thread, where the regex
operators release the GIL, so the event loop keeps serving while it runs.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import jsonpath_rw

from metalscope.errors import MetalScopeError, RuleActionError
from metalscope.node_changes import NodeChanges
from metalscope.rules.actions import format_params
from metalscope.rules.conditions import DEFAULT_REGEX_TIMEOUT, TimeBoundCondition
from metalscope.rules.model import Condition, Rule
from metalscope.rules.spec import RuleAction, RuleCondition

LOG = logging.getLogger(__name__)

SCHEMES = ("data", "node")
#: The schemes a rule may use from API 1.19 on (and in rules files).
DIFF_SCHEMES = (*SCHEMES, "diff")

#: openstacksdk attribute name → Ironic REST field name (spec 7.9).
SDK_ALIASES = {
    "id": "uuid",
    "is_maintenance": "maintenance",
    "instance_id": "instance_uuid",
    "chassis_id": "chassis_uuid",
    "is_console_enabled": "console_enabled",
    "is_automated_clean_enabled": "automated_clean",
    "is_protected": "protected",
    "is_retired": "retired",
    "allocation_id": "allocation_uuid",
}


class RuleTimeout(MetalScopeError):
    """A condition ran past its time limit (``[processing]rule_regex_timeout``)."""

    def __init__(self, condition: str, seconds: float, rule: str | None = None) -> None:
        where = f"Rule {rule}: condition" if rule else "Condition"
        super().__init__(f"{where} {condition} did not finish within {seconds:g} s "
                         "([processing]rule_regex_timeout) and was stopped; no rule action "
                         "was run")
        self.condition = condition
        self.seconds = seconds
        self.rule = rule


def split_field(field: str) -> tuple[str, str]:
    """``(scheme, path)`` of a condition field; no ``://`` means scheme ``data``."""
    scheme, sep, path = field.partition("://")
    return (scheme, path) if sep else ("data", field)


def node_document(node: Mapping[str, Any]) -> dict[str, Any]:
    """The node as ``node://`` paths see it: REST names plus the SDK aliases."""
    aliases = {sdk: node[rest] for sdk, rest in SDK_ALIASES.items() if rest in node}
    return {**aliases, **node}


def in_scope(rule: Rule, node: NodeChanges) -> bool:
    """A scoped rule applies only to nodes whose ``properties.inspection_scope`` equals it."""
    if not rule.scope:
        return True
    properties = node.node.get("properties") or {}
    return bool(properties.get("inspection_scope") == rule.scope)


def field_values(field: str, data: Mapping[str, Any], node_doc: Mapping[str, Any],
                 diff: Mapping[str, Any] | None = None) -> list[Any]:
    """The values of every match of the field's path in its source document (none for a
    ``diff://`` field without a diff)."""
    scheme, path = split_field(field)
    if scheme == "diff" and diff is None:
        return []
    source = {"node": node_doc, "diff": diff}.get(scheme, data)
    try:
        return [match.value for match in jsonpath_rw.parse(path).find(source)]
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        # jsonpath-rw raises on e.g. an index applied to a dict: nothing matches there.
        LOG.debug("Path %s cannot be evaluated here (%s), treating it as missing", field, exc)
        return []


def _value_results(cond: Condition, plugin: RuleCondition, values: list[Any],
                   deadline: float) -> Iterator[bool]:
    """Lazily, whether each value satisfies the condition (``invert`` applied)."""
    check = _bounded_check(plugin, deadline)
    for value in values:
        try:
            result = check(value, cond.params)
        except (ValueError, TypeError) as exc:
            LOG.warning("Condition %s %s %s cannot be checked on the value %r (%s); "
                        "counting it as false", cond.field, cond.op, cond.params, value, exc)
            yield False
            continue
        yield not result if cond.invert else result


def _bounded_check(plugin: RuleCondition, deadline: float) -> Callable[[Any, Any], bool]:
    """The plugin's check; for a time-bound operator, given the time left until
    ``deadline`` (``TimeoutError`` when none is left)."""
    if not isinstance(plugin, TimeBoundCondition):
        return lambda value, params: bool(plugin.check(value, params))
    bounded: TimeBoundCondition = plugin

    def check(value: Any, params: Any) -> bool:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no time left for this condition")
        return bool(bounded.check_within(value, params, left))
    return check


def _combine(results: Iterator[bool], multiple: str) -> bool:
    """``any`` stops at the first true, ``all`` at the first false, ``first`` checks one."""
    if multiple == "all":
        return all(results)
    if multiple == "first":
        return next(results, False)
    return any(results)


def condition_holds(cond: Condition, plugin: RuleCondition, data: Mapping[str, Any],
                    node_doc: Mapping[str, Any],
                    regex_timeout: float = DEFAULT_REGEX_TIMEOUT, *,
                    diff: Mapping[str, Any] | None = None) -> bool:
    """Evaluate one condition (spec 7.5); a missing field is ``None`` only if allowed.

    Raises RuleTimeout when a time-bound operator needs more than ``regex_timeout``
    seconds over all the values.
    """
    values = field_values(cond.field, data, node_doc, diff)
    if not values:
        if not plugin.ALLOW_NONE:
            LOG.info("Field %s was not found, the condition is not met", cond.field)
            return False
        values = [None]
    deadline = time.monotonic() + regex_timeout
    try:
        return _combine(_value_results(cond, plugin, values, deadline), cond.multiple)
    except TimeoutError:
        raise RuleTimeout(condition_text(cond), regex_timeout) from None


def condition_text(cond: Condition) -> str:
    """``data://path matches '(a+)+$'``, with ``invert`` and ``multiple`` when set."""
    params = " ".join(repr(v) if k == "value" else f"{k}={v!r}"
                      for k, v in cond.params.items())
    text = f"{cond.field} {'not ' if cond.invert else ''}{cond.op} {params}".rstrip()
    return text + (f" (multiple: {cond.multiple})" if cond.multiple != "any" else "")


def _rule_label(rule: Rule) -> str:
    return f"{rule.uuid} ({rule.description})" if rule.description else rule.uuid


def rule_matches(rule: Rule, data: Mapping[str, Any], node: NodeChanges,
                 node_doc: Mapping[str, Any], conditions: Mapping[str, RuleCondition],
                 regex_timeout: float = DEFAULT_REGEX_TIMEOUT, *,
                 diff: Mapping[str, Any] | None = None) -> bool:
    """Scope first, then every condition in order (a rule without conditions matches)."""
    if not in_scope(rule, node):
        LOG.debug("Rule %s is out of scope for this node", _rule_label(rule))
        return False
    for cond in rule.conditions:
        plugin = conditions.get(cond.op)
        if plugin is None:
            LOG.warning("Rule %s uses the unknown operator %s, it does not match",
                        _rule_label(rule), cond.op)
            return False
        try:
            holds = condition_holds(cond, plugin, data, node_doc, regex_timeout, diff=diff)
        except RuleTimeout as exc:
            raise RuleTimeout(exc.condition, exc.seconds, _rule_label(rule)) from None
        if not holds:
            LOG.info("Rule %s does not match: condition %s %s %s failed",
                     _rule_label(rule), cond.field, cond.op, cond.params)
            return False
    return True


def matching_rules(rules: list[Rule], data: Mapping[str, Any], node: NodeChanges,
                   conditions: Mapping[str, RuleCondition],
                   regex_timeout: float = DEFAULT_REGEX_TIMEOUT, *,
                   diff: Mapping[str, Any] | None = None) -> list[Rule]:
    """Phase 1: the rules (in the given order) whose scope and conditions hold; ``diff``
    is the hardware diff ``diff://`` fields read (None: no previous inspection).

    Raises RuleTimeout when a condition runs past ``regex_timeout`` seconds.
    """
    node_doc = node_document(node.node)
    matched = [rule for rule in rules
               if rule_matches(rule, data, node, node_doc, conditions, regex_timeout,
                               diff=diff)]
    LOG.info("Rules matching this node: %s", [_rule_label(r) for r in matched] or "none")
    return matched


def run_actions(rule: Rule, data: Mapping[str, Any], node: NodeChanges,
                actions: Mapping[str, RuleAction]) -> None:
    """Run a rule's actions in order, each with its formatted parameters."""
    for act in rule.actions:
        plugin = actions.get(act.action)
        if plugin is None:
            raise RuleActionError(f"Rule {rule.uuid} uses the unknown action {act.action}")
        params = format_params(act.params, plugin.FORMATTED_PARAMS, data)
        LOG.debug("Rule %s: running action %s %s", _rule_label(rule), act.action, params)
        plugin.apply(node, params, data)


def apply_rules(rules: list[Rule], data: Mapping[str, Any], node: NodeChanges,
                conditions: Mapping[str, RuleCondition],
                actions: Mapping[str, RuleAction],
                regex_timeout: float = DEFAULT_REGEX_TIMEOUT, *,
                diff: Mapping[str, Any] | None = None) -> list[Rule]:
    """Match every rule, then run the matching rules' actions; return the matching rules.

    The first failing action (``fail`` included) raises and stops everything; the edits
    recorded before it stay in ``node`` (spec 7.3). A condition past ``regex_timeout``
    raises RuleTimeout before any action runs.
    """
    matched = matching_rules(rules, data, node, conditions, regex_timeout, diff=diff)
    for rule in matched:
        run_actions(rule, data, node, actions)
    return matched


async def apply_rules_off_loop(rules: list[Rule], data: Mapping[str, Any], node: NodeChanges,
                               conditions: Mapping[str, RuleCondition],
                               actions: Mapping[str, RuleAction],
                               regex_timeout: float = DEFAULT_REGEX_TIMEOUT, *,
                               diff: Mapping[str, Any] | None = None) -> list[Rule]:
    """:func:`apply_rules` with phase 1 in a worker thread, so that slow regular
    expressions (up to ``regex_timeout`` each) never hold the event loop.

    ``data`` and ``node`` are only read there, and nothing else uses them meanwhile: they
    belong to the one processing that awaits this. The actions run on the loop.
    """
    matched = await asyncio.to_thread(functools.partial(
        matching_rules, rules, data, node, conditions, regex_timeout, diff=diff))
    for rule in matched:
        run_actions(rule, data, node, actions)
    return matched
