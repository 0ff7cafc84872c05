"""Exporting MetalScope rules to Ironic's inspection rules (``/v1/inspection_rules``).

The reverse of :mod:`metalscope.rules.ironic_format`: an operator moving from MetalScope to
Ironic's own inspection (Ironic 33+, API 1.96) keeps the rules that Ironic can express, and
is told, rule by rule, what it cannot. A rule with any part that has no Ironic equivalent is
not exported at all: dropping a condition would widen what it matches, dropping an action
would change what it does. Pure: no I/O.

How the pieces map (checked against Ironic 39's ``ironic/common/inspection_rules``):

* A condition field becomes one ``{...}`` reference: ``data://inventory.a.b`` (or the
  scheme-less ``inventory.a.b``) is ``{inventory[a][b]}``, any other ``data://x.y`` is
  ``{plugin_data[x][y]}``, ``node://driver_info.x`` is ``{node.driver_info[x]}``. Only plain
  names and list indexes can be written so: a path with ``[*]``, ``..``, a slice or a filter
  reads several values, which Ironic cannot (its ``loop`` runs over constants of the rule).
  ``diff://`` fields (drift rules) have no Ironic source at all.
* Ironic formats every reference into *text* (``str.format``), so a comparison in Ironic
  sees ``"8"``, never ``8``. ``eq``/``ne`` with a number are therefore exported with
  ``force_strings`` (the number's text is compared); ``lt``/``gt``/``le``/``ge`` with a
  number cannot be exported (Ironic would compare text with a number, which fails the
  inspection, or order texts, where ``"10" < "9"``); with a text constant they order texts
  as MetalScope does. Ironic 39 has only ``eq``, ``lt``, ``gt``: ``ne`` is ``!eq``, ``le``
  is ``!gt``, ``ge`` is ``!lt``. ``invert`` is the ``!`` prefix (``invert`` of ``le`` is
  ``gt``).
* ``matches``, ``contains``, ``is-empty`` and ``in-net`` keep their names (arguments
  ``value``/``regex``, ``value``, ``address``/``subnet``). ``multiple`` has no effect on a
  field naming one value and is dropped.
* A rule's ``scope`` becomes a first condition on ``{node.properties[inspection_scope]}``
  (Ironic has no scope): the same test, a node without the property never matches.
* Actions: ``set-attribute``, ``extend-attribute``, ``add-trait``, ``remove-trait`` keep
  their names and arguments, ``fail``'s ``message`` is ``msg``, ``set-capability`` without a
  value is ``unset-capability``, ``example`` is ``log`` (of its ``msg`` when that is its only
  parameter, else of its parameters as JSON). In formatted values ``{data[inventory][x]}``
  becomes ``{inventory[x]}`` and ``{data[x]}`` ``{plugin_data[x]}``. Third-party conditions
  and actions, the whole ``{data}`` in a value, JSON-pointer escapes (``~1``) in a path, and
  ``reset_interfaces: true`` have no equivalent.
* Rules are exported with ``phase: main`` (the only phase Ironic implements, run once after
  its inspection hooks, where MetalScope runs its rules) and ``sensitive: false``; MetalScope
  runs rules in creation order, Ironic highest ``priority`` first, so the N rules get
  priorities N-1 down to 0 (:data:`BASE_PRIORITY` added) in creation order.

Differences that remain (documented, not reported per rule): Ironic checks a rule's
conditions and runs its actions before going to the next rule, where MetalScope checks every
rule first; a missing field leaves Ironic's reference unformatted (a negated condition then
holds) where MetalScope's condition is false; a missing key in an action value leaves the text
unformatted in Ironic and is an error in MetalScope; ``plugin_data`` holds what Ironic's own
inspection hooks store, which is not every key of MetalScope's processed data.
"""

from __future__ import annotations

import json
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jsonpath_rw

from metalscope.rules.engine import SDK_ALIASES, split_field
from metalscope.rules.model import Action, Condition, Rule

#: Added to every exported priority; Ironic accepts 0-9999 for rules created by the API.
BASE_PRIORITY = 0
MAX_PRIORITY = 9999

#: MetalScope's comparison → (Ironic operator, negated), for a condition that is not inverted.
COMPARISONS: Mapping[str, tuple[str, bool]] = {
    "eq": ("eq", False), "ne": ("eq", True), "lt": ("lt", False), "gt": ("gt", False),
    "le": ("gt", True), "ge": ("lt", True),
}
SCOPE_FIELD = "{node.properties[inspection_scope]}"
_REVERSE_ALIASES = dict(SDK_ALIASES)
_UNSAFE_KEY_CHARS = frozenset("[]{}!:")


class NotExportable(Exception):
    """A part of a MetalScope rule that Ironic cannot express; the text says why."""


@dataclass
class RuleExport:
    """The outcome for one MetalScope rule: the Ironic rule body, or why there is none."""

    uuid: str
    description: str | None
    rule: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def exported(self) -> bool:
        return self.rule is not None

    @property
    def label(self) -> str:
        return f"{self.uuid} ({self.description})" if self.description else self.uuid


# -- references ---------------------------------------------------------------------------------
def path_keys(path: str) -> list[str | int]:
    """The names and indexes of a JSONPath that reads one value (``a.b[0]`` → a, b, 0)."""
    try:
        parsed = jsonpath_rw.parse(path)
    except Exception as exc:  # jsonpath-rw raises bare Exceptions on syntax errors
        raise NotExportable(f"cannot read the JSONPath {path!r}: {exc}") from exc
    return _keys(parsed, path)


def _keys(node: Any, path: str) -> list[str | int]:
    if isinstance(node, jsonpath_rw.Child):
        return _keys(node.left, path) + _keys(node.right, path)
    if isinstance(node, jsonpath_rw.Fields) and len(node.fields) == 1 \
            and node.fields[0] != "*":
        return [node.fields[0]]
    if isinstance(node, jsonpath_rw.Index):
        return [node.index]
    raise NotExportable(f"the path {path!r} can read several values (wildcard, descendants, "
                        "slice or filter); an Ironic reference names one value")


def _subscripts(keys: list[str | int]) -> str:
    text = ""
    for key in keys:
        if isinstance(key, str) and (key.isdigit() or not key
                                     or _UNSAFE_KEY_CHARS.intersection(key)):
            raise NotExportable(f"the key {key!r} cannot be written in an Ironic reference")
        text += f"[{key}]"
    return text


def field_reference(field_: str) -> str:
    """The Ironic ``{...}`` reference (without braces) of a MetalScope condition field."""
    scheme, path = split_field(field_)
    if scheme == "diff":
        raise NotExportable(f"{field_} reads the hardware diff of MetalScope's inspection "
                            "history (drift rules); Ironic has no such data")
    if scheme not in ("data", "node"):
        raise NotExportable(f"unknown field scheme {scheme!r}")
    keys = path_keys(path)
    if scheme == "node":
        first = keys[0]
        if not isinstance(first, str) or not first.isidentifier():
            raise NotExportable(f"{field_} does not start with a node field name")
        return f"node.{_REVERSE_ALIASES.get(first, first)}" + _subscripts(keys[1:])
    if keys[0] == "inventory":
        return "inventory" + _subscripts(keys[1:])
    return "plugin_data" + _subscripts(keys)


# -- values of actions ------------------------------------------------------------------------
def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _data_reference(name: str) -> str:
    """``data[inventory][x]`` → ``inventory[x]``, ``data[x]`` → ``plugin_data[x]``."""
    if not name.startswith("data["):
        raise NotExportable(f"the reference {{{name}}} is not a key of the data")
    rest = name[len("data"):]
    if rest.startswith("[inventory]"):
        return "inventory" + rest[len("[inventory]"):]
    return "plugin_data" + rest


def ironic_template(text: str) -> str:
    """A MetalScope action value template as Ironic's (``{data[inventory][x]}`` →
    ``{inventory[x]}``)."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise NotExportable(f"malformed template {text!r}: {exc}") from exc
    out = []
    for literal, name, spec, conversion in parts:
        out.append(_escape(literal))
        if name is None:
            continue
        if spec and "{" in spec:
            raise NotExportable(f"nested references in a format specification: {spec!r}")
        out.append("{" + _data_reference(name) + (f"!{conversion}" if conversion else "")
                   + (f":{spec}" if spec else "") + "}")
    return "".join(out)


def ironic_value(value: Any) -> Any:
    """A formatted action value rewritten at every depth (dict keys included)."""
    if isinstance(value, str):
        return ironic_template(value)
    if isinstance(value, list):
        return [ironic_value(item) for item in value]
    if isinstance(value, dict):
        return {ironic_value(k): ironic_value(v) for k, v in value.items()}
    return value


def _constant(value: Any) -> Any:
    """A constant in an argument Ironic formats: its braces doubled."""
    return _escape(value) if isinstance(value, str) else value


# -- conditions ---------------------------------------------------------------------------------
def _negated(op: str, negated: bool) -> str:
    return f"!{op}" if negated else op


def _comparison(cond: Condition, ref: str, notes: list[str]) -> dict[str, Any]:
    value = cond.params.get("value")
    op, negated = COMPARISONS[cond.op]
    negated = negated != cond.invert
    if isinstance(value, str):
        return {"op": _negated(op, negated), "args": {"values": [ref, _constant(value)]}}
    if not isinstance(value, (int, float)):
        raise NotExportable(f"compares with {value!r}; only numbers and texts can be exported")
    if cond.op not in ("eq", "ne"):
        raise NotExportable(f"{cond.op} with the number {value!r}: Ironic formats the field "
                            "into text, so it would compare text with a number (an error "
                            "that fails the inspection) or, with force_strings, order texts "
                            "('10' < '9')")
    notes.append(f"compared as text with {str(value)!r} (Ironic's force_strings): "
                 "MetalScope's conversion of the field to a number is not reproduced")
    return {"op": _negated(op, negated),
            "args": {"values": [ref, value], "force_strings": True}}


def _one_argument(name: str) -> Callable[[Condition, str, list[str]], dict[str, Any]]:
    def export(cond: Condition, ref: str, notes: list[str]) -> dict[str, Any]:
        args = {"value": ref}
        if name == "is-empty":
            notes.append("Ironic's is-empty also holds for the texts 'None', '[]' and '{}'")
        else:
            args["regex"] = cond.params["value"]
        return {"op": _negated(name, cond.invert), "args": args}
    return export


def _in_net(cond: Condition, ref: str, notes: list[str]) -> dict[str, Any]:
    return {"op": _negated("in-net", cond.invert),
            "args": {"address": ref, "subnet": _constant(cond.params["value"])}}


_CONDITIONS: Mapping[str, Callable[[Condition, str, list[str]], dict[str, Any]]] = {
    **dict.fromkeys(COMPARISONS, _comparison),
    "matches": _one_argument("matches"),
    "contains": _one_argument("contains"),
    "is-empty": _one_argument("is-empty"),
    "in-net": _in_net,
}


def export_condition(cond: Condition, notes: list[str]) -> dict[str, Any]:
    """The Ironic condition equivalent to one MetalScope condition."""
    ref = "{" + field_reference(cond.field) + "}"
    if cond.op not in _CONDITIONS:
        raise NotExportable(f"the operator {cond.op!r} has no Ironic equivalent")
    if cond.multiple != "any":
        notes.append(f"multiple {cond.multiple!r} dropped: the field names one value")
    return _CONDITIONS[cond.op](cond, ref, notes)


def scope_condition(scope: str) -> dict[str, Any]:
    """The condition standing for a rule's scope."""
    return {"op": "eq", "args": {"values": [SCOPE_FIELD, _escape(scope)]}}


# -- actions ------------------------------------------------------------------------------------
def _checked_path(path: Any) -> str:
    if not isinstance(path, str) or not path.strip("/"):
        raise NotExportable(f"invalid path {path!r}")
    if "~" in path:
        raise NotExportable(f"the path {path!r} uses JSON-pointer escapes, which Ironic "
                            "does not read")
    return path if path.startswith("/") else "/" + path


def _set_attribute(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    path = _checked_path(params["path"])
    reset = params.get("reset_interfaces")
    if path.strip("/") == "driver":
        if reset is not None and reset:
            raise NotExportable("reset_interfaces: Ironic's set-attribute cannot reset the "
                                "node's interfaces when it changes the driver")
        if reset is None:
            notes.append("Ironic sets the driver without resetting the node's interfaces")
    elif reset is not None:
        notes.append("reset_interfaces dropped: it only applies to the driver")
    return {"op": "set-attribute",
            "args": {"path": path, "value": ironic_value(params.get("value"))}}


def _extend_attribute(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    args = {"path": _checked_path(params["path"]), "value": ironic_value(params["value"])}
    if params.get("unique") is not None:
        args["unique"] = params["unique"]
    return {"op": "extend-attribute", "args": args}


def _set_capability(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    if params.get("value") is None:
        return {"op": "unset-capability", "args": {"name": params["name"]}}
    return {"op": "set-capability",
            "args": {"name": params["name"], "value": ironic_value(params["value"])}}


def _trait(op: str) -> Callable[[Mapping[str, Any], list[str]], dict[str, Any]]:
    def export(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
        return {"op": op, "args": {"name": params["name"]}}
    return export


def _fail(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    return {"op": "fail", "args": {"msg": params["message"]}}


def _example(params: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    if set(params) == {"msg"} and isinstance(params["msg"], str):
        return {"op": "log", "args": {"msg": _escape(params["msg"])}}
    notes.append("example became log of its parameters as JSON")
    return {"op": "log", "args": {"msg": _escape(json.dumps(dict(params), sort_keys=True))}}


_ACTIONS: Mapping[str, Callable[[Mapping[str, Any], list[str]], dict[str, Any]]] = {
    "set-attribute": _set_attribute,
    "extend-attribute": _extend_attribute,
    "set-capability": _set_capability,
    "add-trait": _trait("add-trait"),
    "remove-trait": _trait("remove-trait"),
    "fail": _fail,
    "example": _example,
}


def export_action(action: Action, notes: list[str]) -> dict[str, Any]:
    """The Ironic action equivalent to one MetalScope action."""
    if action.action not in _ACTIONS:
        raise NotExportable(f"the action {action.action!r} has no Ironic equivalent")
    return _ACTIONS[action.action](action.params, notes)


# -- rules --------------------------------------------------------------------------------------
def _export_parts(kind: str, items: list[Any], export: Callable[[Any, list[str]], Any],
                  result: RuleExport) -> list[dict[str, Any]]:
    exported = []
    for number, item in enumerate(items, 1):
        name = item.op if isinstance(item, Condition) else item.action
        where = f"{kind} {number} ({name})"
        local: list[str] = []
        try:
            exported.append(export(item, local))
        except NotExportable as exc:
            result.problems.append(f"{where}: {exc}")
        result.notes += [f"{where}: {note}" for note in dict.fromkeys(local)]
    return exported


def export_rule(rule: Rule, priority: int = BASE_PRIORITY) -> RuleExport:
    """One MetalScope rule as an Ironic rule body; ``problems`` say why it cannot be."""
    result = RuleExport(rule.uuid, rule.description)
    conditions = _export_parts("condition", rule.conditions, export_condition, result)
    actions = _export_parts("action", rule.actions, export_action, result)
    if rule.scope:
        conditions.insert(0, scope_condition(rule.scope))
        result.notes.append(f"scope {rule.scope!r} became a condition on the node's "
                            "properties.inspection_scope")
    if not result.problems:
        result.rule = {"uuid": rule.uuid, "description": rule.description,
                       "priority": priority, "phase": "main", "sensitive": False,
                       "conditions": conditions, "actions": actions}
    return result


def export_rules(rules: list[Rule], base_priority: int = BASE_PRIORITY) -> list[RuleExport]:
    """Every rule (given in creation order), with priorities keeping that order in Ironic."""
    count = len(rules)
    if base_priority < 0 or base_priority + count - 1 > MAX_PRIORITY:
        raise ValueError(f"{count} rules from priority {base_priority} do not fit in "
                         f"Ironic's 0-{MAX_PRIORITY}")
    return [export_rule(rule, base_priority + count - 1 - position)
            for position, rule in enumerate(rules)]


def exported_document(exports: list[RuleExport]) -> list[dict[str, Any]]:
    """The exported rule bodies, in the order Ironic runs them."""
    return [e.rule for e in exports if e.rule is not None]


# -- pushing to Ironic ----------------------------------------------------------------------------
CONTENT_KEYS = ("description", "phase", "sensitive", "conditions", "actions")


def rule_content(rule: Mapping[str, Any]) -> str:
    """What makes two Ironic rules the same rule (UUID and priority aside), comparable."""
    return json.dumps({key: rule.get(key) for key in CONTENT_KEYS}, sort_keys=True)


def already_there(rule: Mapping[str, Any], existing: Sequence[Mapping[str, Any]]) -> str | None:
    """Why ``rule`` need not be created (same UUID or same content as an Ironic rule)."""
    for other in existing:
        if other.get("uuid") == rule.get("uuid"):
            return f"a rule with UUID {rule['uuid']} exists in Ironic"
    content = rule_content(rule)
    for other in existing:
        if rule_content(other) == content:
            return f"Ironic's rule {other.get('uuid')} has the same content"
    return None


def format_report(exports: list[RuleExport]) -> list[str]:
    """A human-readable report: one block per rule, then a summary line."""
    lines = []
    for export in exports:
        lines.append(f"{'exported' if export.exported else 'NOT exported'}: {export.label}")
        lines += [f"    - {problem}" for problem in export.problems]
        lines += [f"    note: {note}" for note in export.notes]
    done = sum(e.exported for e in exports)
    lines.append(f"{done} of {len(exports)} rule(s) exported to Ironic's format"
                 + (f", {len(exports) - done} not exported" if done < len(exports) else ""))
    return lines
