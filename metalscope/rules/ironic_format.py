"""Converting Ironic's inspection rules (``/v1/inspection_rules``) into MetalScope rules.

Ironic's built-in inspection has its own rule format (ecosystem spec 1.4): conditions are
``{"op": "eq", "args": {"values": ["{inventory[cpu][count]}", 8]}}`` with ``!`` before the
operator for negation and an optional ``loop``; actions are ``{"op": "add-trait", "args":
{...}}``; rules carry ``priority``, ``phase`` and ``sensitive``. MetalScope rules use
ironic-inspector's format (spec 7): a condition names a ``field`` (a JSONPath into the
introspection data or the node) and a constant ``value``. :func:`convert_document`
translates what has an equivalent and says, rule by rule, what has not and why. A rule with
any part that cannot be converted is not converted at all: dropping a condition would
widen what it matches, dropping an action would change what it does.

How the pieces map:

* A reference ``{inventory[a][b]}`` becomes the field ``data://inventory.a.b``,
  ``{plugin_data[a]}`` becomes ``data://a`` (what Ironic calls plugin data is the rest of
  the processed data, ``auto_discovered`` and ``root_disk`` included), and
  ``{node.driver_info[x]}`` becomes ``node://driver_info.x``. In action values,
  ``{inventory[...]}`` becomes ``{data[inventory][...]}`` and ``{plugin_data[...]}``
  becomes ``{data[...]}``; node fields cannot be used there (MetalScope formats values with
  the introspection data only).
* A comparison must set one reference against one constant; its operator is mirrored when
  the constant comes first (``lt [8, "{x}"]`` is ``gt x 8``). The reference is taken with
  its JSON type, as Ironic's specification describes, so MetalScope's conversion of the
  field to the type of a numeric constant applies. With ``force_strings`` an equality is a
  ``matches`` of the escaped constant: the same text comparison.
* ``is-true``/``is-false`` become ``matches`` of ``(?i)(?:true|yes)``/``(?i)(?:false|no)``,
  ``one-of`` a ``matches`` of the alternatives, ``unset-capability`` a ``set-capability``
  without value, ``log`` the ``example`` action (it logs its parameters).
* A condition ``loop`` is unrolled: with ``multiple: all`` into one condition per item
  (a rule's conditions must all hold), with ``last`` into the last item's; with ``any`` or
  ``first`` only when the items give ``matches``/``contains`` tests of one field, which
  combine into one alternation. An action ``loop`` becomes one action per item.
* Rules are returned in the order Ironic runs them, highest ``priority`` first: MetalScope
  runs rules in creation order, so importing the result in order keeps Ironic's order.

Differences that remain (documented rather than reported per rule): MetalScope checks every
rule's conditions before running any action, so one rule's actions cannot change whether
a later rule matches; a field that does not exist makes a MetalScope condition false even
when negated, and a missing key in an action value is an error where Ironic leaves the
text unformatted; ``set-attribute`` of ``driver`` resets the node's interfaces.
"""

from __future__ import annotations

import re
import string
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn

#: Ironic's argument names per condition operator: (required, optional), in call order.
CONDITION_ARGS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    **dict.fromkeys(("eq", "ne", "lt", "le", "gt", "ge"), (("values",), ("force_strings",))),
    **dict.fromkeys(("is-empty", "is-none", "is-true", "is-false"), (("value",), ())),
    "in-net": (("address", "subnet"), ()),
    "matches": (("value", "regex"), ()),
    "contains": (("value", "regex"), ()),
    "one-of": (("value",), ("values",)),
}

#: Ironic's argument names per action: (required, optional), in call order.
ACTION_ARGS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "fail": (("msg",), ()),
    "log": (("msg",), ("level",)),
    "set-attribute": (("path", "value"), ()),
    "extend-attribute": (("path", "value"), ("unique",)),
    "del-attribute": (("path",), ()),
    "set-capability": (("name", "value"), ()),
    "unset-capability": (("name",), ()),
    "add-trait": (("name",), ()),
    "remove-trait": (("name",), ()),
    "set-plugin-data": (("path", "value"), ()),
    "extend-plugin-data": (("path", "value"), ("unique",)),
    "unset-plugin-data": (("path",), ()),
    "set-port-attribute": (("port_id", "path", "value"), ()),
    "extend-port-attribute": (("port_id", "path", "value"), ("unique",)),
    "del-port-attribute": (("port_id", "path"), ()),
    "api-call": (("url",), ("headers", "proxies", "timeout", "retries", "backoff_factor")),
}

#: Ironic actions without a MetalScope equivalent, and why.
UNSUPPORTED_ACTIONS: Mapping[str, str] = {
    "del-attribute": "MetalScope rules cannot remove a node attribute (set-attribute with a "
                     "null value stores null instead)",
    "set-plugin-data": "MetalScope rules cannot change the stored introspection data",
    "extend-plugin-data": "MetalScope rules cannot change the stored introspection data",
    "unset-plugin-data": "MetalScope rules cannot change the stored introspection data",
    "set-port-attribute": "MetalScope rules cannot edit ports",
    "extend-port-attribute": "MetalScope rules cannot edit ports",
    "del-port-attribute": "MetalScope rules cannot edit ports",
    "api-call": "MetalScope rule actions make no outside calls",
}

#: Rule keys Ironic returns that mean nothing to a MetalScope rule.
IGNORED_KEYS = frozenset({"links", "created_at", "updated_at", "built_in"})
RULE_KEYS = frozenset({"uuid", "description", "priority", "phase", "sensitive",
                       "conditions", "actions"})

_MIRRORED = {"eq": "eq", "ne": "ne", "lt": "gt", "gt": "lt", "le": "ge", "ge": "le"}
_TRUE_PATTERN = "(?i)(?:true|yes)"
_FALSE_PATTERN = "(?i)(?:false|no)"
_FIELD_NAME = re.compile(r"(?P<root>[A-Za-z_]\w*)(?P<rest>(?:\.\w+|\[[^\]]*\])*)")
_ACCESSOR = re.compile(r"\.(\w+)|\[([^\]]*)\]")
_PLAIN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_JSONPATH_KEYWORDS = frozenset({"where"})


class NotConvertible(Exception):
    """A part of an Ironic rule that has no MetalScope equivalent; the text says why."""


@dataclass
class RuleConversion:
    """The outcome for one Ironic rule: the MetalScope rule body, or why there is none."""

    index: int
    uuid: str | None
    description: str | None
    rule: dict[str, Any] | None = None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def converted(self) -> bool:
        return self.rule is not None

    @property
    def label(self) -> str:
        name = self.uuid or f"#{self.index}"
        return f"{name} ({self.description})" if self.description else name


# -- references: {inventory[a][b]}, {plugin_data[a]}, {node.driver_info[x]}, {item} -------------
@dataclass(frozen=True)
class Reference:
    """One ``{...}`` replacement field: its root name and its ``.attr``/``[key]`` accessors."""

    root: str
    accessors: tuple[tuple[bool, str | int], ...]  # (is attribute access, name or index)
    conversion: str | None = None
    spec: str = ""

    @property
    def keys(self) -> list[str | int]:
        return [key for _attr, key in self.accessors]


def parse_reference(name: str, conversion: str | None = None, spec: str = "") -> Reference:
    """Parse a ``str.format`` field name; a digit index is an integer, as ``str.format`` does."""
    match = _FIELD_NAME.fullmatch(name)
    if match is None:
        raise NotConvertible(f"cannot read the reference {{{name}}}")
    accessors: list[tuple[bool, str | int]] = []
    for attr, key in _ACCESSOR.findall(match["rest"]):
        if attr:
            accessors.append((True, attr))
        else:
            accessors.append((False, int(key) if key.isdigit() else key))
    return Reference(match["root"], tuple(accessors), conversion, spec or "")


def template_parts(text: str) -> list[tuple[str, str | None, str | None, str | None]]:
    """``string.Formatter().parse`` of the text; a malformed template raises NotConvertible."""
    try:
        return list(string.Formatter().parse(text))
    except ValueError as exc:
        raise NotConvertible(f"malformed template {text!r}: {exc}") from exc


def single_reference(text: str) -> Reference | None:
    """The reference when the text is exactly one ``{...}`` field, else None."""
    parts = template_parts(text)
    if len(parts) != 1 or parts[0][0]:
        return None
    _literal, name, spec, conversion = parts[0]
    return None if name is None else parse_reference(name, conversion, spec or "")


def literal_text(text: str) -> str | None:
    """The text with doubled braces undone when it has no ``{...}`` field, else None."""
    parts = template_parts(text)
    if any(name is not None for _lit, name, _spec, _conv in parts):
        return None
    return "".join(literal for literal, *_rest in parts)


def _escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _render_field(expression: str, conversion: str | None, spec: str | None) -> str:
    if spec and "{" in spec:
        raise NotConvertible(f"nested references in a format specification: {spec!r}")
    return ("{" + expression + (f"!{conversion}" if conversion else "")
            + (f":{spec}" if spec else "") + "}")


def _field_name(ref: Reference) -> str:
    accessors = "".join(f".{key}" if attr else f"[{key}]" for attr, key in ref.accessors)
    return ref.root + accessors


# -- fields of conditions -----------------------------------------------------------------------
def jsonpath(keys: list[str | int]) -> str:
    """A jsonpath-rw path for the keys (``["a", 0, "b c"]`` → ``a[0].'b c'``)."""
    text = ""
    for key in keys:
        if isinstance(key, int):
            text += f"[{key}]"
            continue
        name = key if _PLAIN_NAME.fullmatch(key) and key not in _JSONPATH_KEYWORDS else None
        if name is None and "'" in key:
            raise NotConvertible(f"the key {key!r} cannot be written as a JSONPath name")
        name = name or f"'{key}'"
        text += f".{name}" if text else name
    return text


def _dict_keys(ref: Reference, skip: int = 0) -> list[str | int]:
    if any(attr for attr, _key in ref.accessors[skip:]):
        raise NotConvertible(f"{{{_field_name(ref)}}} uses attribute access on a dictionary, "
                             "which Ironic never resolves")
    return ref.keys[skip:]


def condition_field(ref: Reference) -> str:
    """The MetalScope condition field a reference reads (``data://...`` or ``node://...``)."""
    if ref.conversion or ref.spec:
        raise NotConvertible(f"{{{_field_name(ref)}}} has a conversion or format "
                             "specification; a condition field is the raw value")
    if ref.root == "inventory":
        return "data://" + jsonpath(["inventory", *_dict_keys(ref)])
    if ref.root == "plugin_data" and ref.accessors:
        return "data://" + jsonpath(_dict_keys(ref))
    if ref.root == "node" and ref.accessors and ref.accessors[0][0]:
        return "node://" + jsonpath([ref.keys[0], *_dict_keys(ref, skip=1)])
    raise NotConvertible(f"the reference {{{_field_name(ref)}}} names no inventory, plugin "
                         "data or node field")


# -- values of actions ----------------------------------------------------------------------------
def data_expression(ref: Reference) -> str:
    """The ``str.format`` expression over MetalScope's ``data`` for a reference."""
    if ref.root == "inventory":
        keys = ["inventory", *_dict_keys(ref)]
    elif ref.root == "plugin_data" and ref.accessors:
        keys = _dict_keys(ref)
    elif ref.root == "node":
        raise NotConvertible(f"{{{_field_name(ref)}}}: MetalScope formats action values with "
                             "the introspection data only, node fields cannot be used")
    else:
        raise NotConvertible(f"the reference {{{_field_name(ref)}}} names no inventory or "
                             "plugin data field")
    return "data" + "".join(f"[{key}]" for key in keys)


def metalscope_template(text: str) -> str:
    """An Ironic template rewritten for MetalScope (``{inventory[x]}`` becomes
    ``{data[inventory][x]}``)."""
    out = []
    for literal, name, spec, conversion in template_parts(text):
        out.append(_escape(literal))
        if name is not None:
            ref = parse_reference(name, conversion, spec or "")
            out.append(_render_field(data_expression(ref), conversion, spec))
    return "".join(out)


def metalscope_value(value: Any) -> Any:
    """A formatted action value rewritten at every depth (dict keys included), as both format."""
    if isinstance(value, str):
        return metalscope_template(value)
    if isinstance(value, list):
        return [metalscope_value(item) for item in value]
    if isinstance(value, dict):
        return {metalscope_value(k): metalscope_value(v) for k, v in value.items()}
    return value


# -- loops ----------------------------------------------------------------------------------------
def _item_value(item: Any, ref: Reference) -> Any:
    value = item
    for attr, key in ref.accessors:
        try:
            value = getattr(value, str(key)) if attr else value[key]
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            raise NotConvertible(f"the loop item {item!r} has no {_field_name(ref)}") from exc
    return value


def substitute_item(value: Any, item: Any) -> Any:
    """``{item...}`` fields replaced by the loop item (typed when the field is the whole text)."""
    if isinstance(value, list):
        return [substitute_item(v, item) for v in value]
    if isinstance(value, dict):
        return {substitute_item(k, item): substitute_item(v, item) for k, v in value.items()}
    if not isinstance(value, str):
        return value
    try:
        parts = list(string.Formatter().parse(value))
    except ValueError:
        return value  # Ironic leaves a malformed template as it is
    return _substitute_parts(parts, item)


def _substitute_parts(parts: list[tuple[str, str | None, str | None, str | None]],
                      item: Any) -> Any:
    if len(parts) == 1 and not parts[0][0] and parts[0][1] is not None:
        ref = parse_reference(parts[0][1], parts[0][3], parts[0][2] or "")
        if ref.root == "item" and not ref.conversion and not ref.spec:
            return _item_value(item, ref)
    out = []
    for literal, name, spec, conversion in parts:
        out.append(_escape(literal))
        if name is None:
            continue
        ref = parse_reference(name, conversion, spec or "")
        if ref.root == "item":
            out.append(format(_item_value(item, ref), spec or ""))
        else:
            out.append(_render_field(name, conversion, spec))
    return "".join(out)


def loop_items(loop: Any) -> list[Any]:
    """The items of an Ironic ``loop``: a list, or a dict standing for a single item."""
    if isinstance(loop, dict):
        return [loop]
    if isinstance(loop, list):
        return loop
    raise NotConvertible(f"loop must be a list or an object, not {type(loop).__name__}")


# -- arguments ------------------------------------------------------------------------------------
def normalize_args(args: Any, signature: tuple[tuple[str, ...], tuple[str, ...]],
                   notes: list[str]) -> dict[str, Any]:
    """Named arguments, from the dict form or Ironic's deprecated list form; checked."""
    required, optional = signature
    if isinstance(args, list):
        notes.append("list-form args (deprecated in Ironic) read by position")
        # The trailing optional arguments may be left out.
        args = dict(zip(required + optional, args, strict=False))
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise NotConvertible("args must be an object or a list")
    missing = [name for name in required if name not in args]
    unexpected = sorted(set(args) - set(required) - set(optional))
    if missing or unexpected:
        problems = ([f"missing argument(s): {', '.join(missing)}"] if missing else []) + \
            ([f"unexpected argument(s): {', '.join(unexpected)}"] if unexpected else [])
        raise NotConvertible("; ".join(problems))
    return dict(args)


def parse_operator(op: Any) -> tuple[str, bool]:
    """``(operator, negated)`` from ``"eq"``, ``"!eq"`` or ``"! eq"``."""
    if not isinstance(op, str):
        raise NotConvertible(f"op must be a string, not {op!r}")
    op = op.strip()
    if op.count("!") > 1:
        raise NotConvertible(f"{op!r} has more than one '!'")
    return op.lstrip("!").strip(), op.startswith("!")


# -- conditions -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Operand:
    reference: Reference | None = None
    constant: Any = None


def _operand(value: Any) -> _Operand:
    if not isinstance(value, str):
        return _Operand(constant=value)
    ref = single_reference(value)
    if ref is not None:
        return _Operand(reference=ref)
    text = literal_text(value)
    if text is None:
        raise NotConvertible(f"{value!r} mixes text with {{...}} references; MetalScope "
                             "compares a field with a constant")
    return _Operand(constant=text)


def _referenced_field(value: Any, what: str) -> str:
    operand = _operand(value)
    if operand.reference is None:
        raise NotConvertible(f"{what} is the constant {value!r}; it must be one {{...}} "
                             "reference to a field")
    return condition_field(operand.reference)


def _constant(value: Any, what: str) -> Any:
    if isinstance(value, str) and single_reference(value) is not None:
        raise NotConvertible(f"{what} is the reference {value!r}; MetalScope compares a "
                             "field with a constant")
    return value


def _comparison(op: str, args: dict[str, Any], force_strings: bool) -> dict[str, Any] | None:
    values = args["values"]
    if not isinstance(values, list):
        raise NotConvertible("values must be a list")
    if len(values) < 2:
        return None  # always true in Ironic
    if len(values) > 2:
        raise NotConvertible(f"chains {len(values)} values; MetalScope compares one field "
                             "with one constant")
    first, second = _operand(values[0]), _operand(values[1])
    if first.reference is not None and second.reference is None:
        ref, constant = first.reference, second.constant
    elif first.reference is None and second.reference is not None:
        ref, constant, op = second.reference, first.constant, _MIRRORED[op]
    else:
        both = "two references" if first.reference is not None else "two constants"
        raise NotConvertible(f"compares {both}; MetalScope compares a field with a constant")
    if constant is None or isinstance(constant, (list, dict)):
        raise NotConvertible(f"compares with {constant!r}; MetalScope compares with a number "
                             "or a text")
    return _compared(op, condition_field(ref), constant, force_strings)


def _compared(op: str, field_: str, constant: Any, force_strings: bool) -> dict[str, Any]:
    if not force_strings:
        return {"op": op, "field": field_, "value": constant}
    if op in ("eq", "ne"):
        return {"op": "matches", "field": field_, "value": re.escape(str(constant)),
                "invert": op == "ne"}
    raise NotConvertible(f"{op} with force_strings orders texts; MetalScope orders a field "
                         "by the type of the constant")


def _is_empty(args: dict[str, Any]) -> dict[str, Any]:
    return {"op": "is-empty", "field": _referenced_field(args["value"], "value")}


def _boolean(pattern: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def convert(args: dict[str, Any]) -> dict[str, Any]:
        return {"op": "matches", "field": _referenced_field(args["value"], "value"),
                "value": pattern}
    return convert


def _is_none(args: dict[str, Any]) -> NoReturn:
    raise NotConvertible("MetalScope has no operator that is true for null only (is-empty "
                         "is also true for \"\", [] and {})")


def _in_net(args: dict[str, Any]) -> dict[str, Any]:
    subnet = _constant(args["subnet"], "subnet")
    if isinstance(subnet, str):
        subnet = literal_text(subnet)
        if subnet is None:
            raise NotConvertible(f"subnet {args['subnet']!r} mixes text with {{...}} references")
    return {"op": "in-net", "field": _referenced_field(args["address"], "address"),
            "value": subnet}


def _regex(op: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def convert(args: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(args["regex"], str):
            raise NotConvertible(f"regex must be a text, not {args['regex']!r}")
        return {"op": op, "field": _referenced_field(args["value"], "value"),
                "value": args["regex"]}
    return convert


def _one_of(args: dict[str, Any]) -> dict[str, Any]:
    values = args.get("values")
    if not isinstance(values, list) or not values \
            or not all(isinstance(v, (str, int, float, bool)) for v in values):
        raise NotConvertible("values must be a non-empty list of numbers or texts")
    pattern = "(?:" + "|".join(re.escape(str(v)) for v in values) + ")"
    return {"op": "matches", "field": _referenced_field(args["value"], "value"),
            "value": pattern}


_SIMPLE_CONDITIONS: Mapping[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "is-empty": _is_empty,
    "is-true": _boolean(_TRUE_PATTERN),
    "is-false": _boolean(_FALSE_PATTERN),
    "is-none": _is_none,
    "in-net": _in_net,
    "matches": _regex("matches"),
    "contains": _regex("contains"),
    "one-of": _one_of,
}

_CONDITION_NOTES: Mapping[str, str] = {
    "is-true": "is-true became a case-insensitive matches of true|yes",
    "is-false": "is-false became a case-insensitive matches of false|no",
    "one-of": "one-of became a matches of the alternatives (compared as text)",
}


def _single_condition(op: str, negated: bool, args: dict[str, Any],
                      force_strings: bool) -> dict[str, Any] | None:
    if op in _MIRRORED:
        converted = _comparison(op, args, force_strings or bool(args.get("force_strings")))
    else:
        converted = _SIMPLE_CONDITIONS[op](args)
    if converted is not None and negated:
        converted["invert"] = not converted.get("invert", False)
    return converted


def convert_condition(condition: Any, notes: list[str]) -> list[dict[str, Any]]:
    """The MetalScope conditions (all must hold) equivalent to one Ironic condition."""
    if not isinstance(condition, dict):
        raise NotConvertible(f"{condition!r} is not an object")
    op, negated = parse_operator(condition.get("op"))
    if op not in CONDITION_ARGS:
        raise NotConvertible(f"unknown operator {op!r}")
    args = normalize_args(condition.get("args"), CONDITION_ARGS[op], notes)
    if op in _CONDITION_NOTES:
        notes.append(_CONDITION_NOTES[op])
    if not condition.get("loop"):
        converted = _single_condition(op, negated, args, force_strings=False)
        if converted is None:
            notes.append(f"a {op} of fewer than two values is always true and was left out")
        return [converted] if converted is not None else []
    return _looped_condition(op, negated, args, condition, notes)


def _looped_condition(op: str, negated: bool, args: dict[str, Any],
                      condition: dict[str, Any], notes: list[str]) -> list[dict[str, Any]]:
    items = loop_items(condition["loop"])
    multiple = condition.get("multiple", "any")
    if multiple == "last":
        items = items[-1:]
    # In a loop every argument is formatted and comparisons compare texts (force_strings).
    unrolled = [_single_condition(op, negated, substitute_item(args, item), force_strings=True)
                for item in items]
    conditions = [c for c in unrolled if c is not None]
    if multiple == "all" or len(conditions) <= 1:
        notes.append(f"the loop became {len(conditions)} condition(s), one per item")
        return conditions  # an always-true item adds nothing to an all-loop
    if len(conditions) < len(unrolled):
        return []  # an always-true item makes an any-loop true
    notes.append(f"the loop (any of {len(conditions)} items) became one alternation")
    return [_alternation(conditions)]


def _alternation(conditions: list[dict[str, Any]]) -> dict[str, Any]:
    first = conditions[0]
    same = all(c["op"] == first["op"] and c["field"] == first["field"]
               and not c.get("invert") for c in conditions)
    if not same or first["op"] not in ("matches", "contains"):
        raise NotConvertible("a loop where any item may match has no equivalent unless every "
                             "item tests one field with matches, contains, eq or one-of; "
                             "write one rule per item instead")
    pattern = "(?:" + "|".join(c["value"] for c in conditions) + ")"
    return {"op": first["op"], "field": first["field"], "value": pattern}


# -- actions --------------------------------------------------------------------------------------
def patch_path(path: Any) -> str:
    """Ironic's dotted or slashed attribute path as a PATCH path (``a.b`` → ``/a/b``)."""
    if not isinstance(path, str) or not path.strip("/."):
        raise NotConvertible(f"invalid path {path!r}")
    parts = path.strip("/").split("/") if "/" in path else path.split(".")
    return "/" + "/".join(parts)


def _plain(args: dict[str, Any], name: str, in_loop: bool) -> Any:
    """An argument Ironic does not format (outside loops) and MetalScope does not either."""
    value = args[name]
    if in_loop and isinstance(value, str):
        text = literal_text(value)
        if text is None:
            raise NotConvertible(f"{name} {value!r} uses {{...}} references; MetalScope does "
                                 f"not format {name}")
        return text
    return value


def _set_attribute(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    return {"action": "set-attribute", "path": patch_path(_plain(args, "path", in_loop)),
            "value": metalscope_value(args["value"])}


def _extend_attribute(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    action = {"action": "extend-attribute", "path": patch_path(_plain(args, "path", in_loop)),
              "value": metalscope_value(args["value"])}
    if "unique" in args:
        action["unique"] = _plain(args, "unique", in_loop)
    return action


def _set_capability(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    return {"action": "set-capability", "name": _plain(args, "name", in_loop),
            "value": metalscope_value(args["value"])}


def _unset_capability(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    return {"action": "set-capability", "name": _plain(args, "name", in_loop), "value": None}


def _trait(action: str) -> Callable[[dict[str, Any], bool], dict[str, Any]]:
    def convert(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
        return {"action": action, "name": _plain(args, "name", in_loop)}
    return convert


def _fail(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    return {"action": "fail", "message": _plain(args, "msg", in_loop)}


def _log(args: dict[str, Any], in_loop: bool) -> dict[str, Any]:
    return {"action": "example", **args}


_ACTIONS: Mapping[str, Callable[[dict[str, Any], bool], dict[str, Any]]] = {
    "set-attribute": _set_attribute,
    "extend-attribute": _extend_attribute,
    "set-capability": _set_capability,
    "unset-capability": _unset_capability,
    "add-trait": _trait("add-trait"),
    "remove-trait": _trait("remove-trait"),
    "fail": _fail,
    "log": _log,
}

_ACTION_NOTES: Mapping[str, str] = {
    "log": "log became the example action, which logs its parameters (unformatted, at INFO)",
    "unset-capability": "unset-capability became set-capability with a null value",
}


def convert_action(action: Any, notes: list[str]) -> list[dict[str, Any]]:
    """The MetalScope actions (run in order) equivalent to one Ironic action."""
    if not isinstance(action, dict):
        raise NotConvertible(f"{action!r} is not an object")
    op = action.get("op")
    if not isinstance(op, str):
        raise NotConvertible(f"op must be a string, not {op!r}")
    if op in UNSUPPORTED_ACTIONS:
        raise NotConvertible(UNSUPPORTED_ACTIONS[op])
    if op not in _ACTIONS:
        raise NotConvertible(f"unknown action {op!r}")
    args = normalize_args(action.get("args"), ACTION_ARGS[op], notes)
    if op in _ACTION_NOTES:
        notes.append(_ACTION_NOTES[op])
    if not action.get("loop"):
        return [_ACTIONS[op](args, False)]
    return [_ACTIONS[op](substitute_item(args, item), True)
            for item in loop_items(action["loop"])]


# -- rules ----------------------------------------------------------------------------------------
def _rule_problems(rule: dict[str, Any], notes: list[str]) -> list[str]:
    problems = []
    phase = rule.get("phase") or "main"
    if phase != "main":
        problems.append(f"phase {phase!r}: MetalScope runs rules once, after processing "
                        "(Ironic's phase main)")
    if rule.get("sensitive"):
        notes.append("sensitive is not kept: MetalScope shows and logs every rule's "
                     "conditions and actions")
    unknown = sorted(set(rule) - RULE_KEYS - IGNORED_KEYS)
    if unknown:
        notes.append(f"ignored key(s): {', '.join(unknown)}")
    if not isinstance(rule.get("actions"), list) or not rule["actions"]:
        problems.append("a rule needs at least one action")
    if not isinstance(rule.get("conditions") or [], list):
        problems.append("conditions must be a list")
    return problems


def _convert_parts(kind: str, items: list[Any],
                   convert: Callable[[Any, list[str]], list[dict[str, Any]]],
                   problems: list[str], notes: list[str]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for number, item in enumerate(items, 1):
        op = item.get("op") if isinstance(item, dict) else None
        where = f"{kind} {number}" + (f" ({op})" if op else "")
        local_notes: list[str] = []
        try:
            result += convert(item, local_notes)
        except NotConvertible as exc:
            problems.append(f"{where}: {exc}")
        notes += [f"{where}: {note}" for note in dict.fromkeys(local_notes)]
    return result


def convert_rule(rule: Any, index: int = 1) -> RuleConversion:
    """Convert one Ironic rule; ``problems`` say why it was not, ``notes`` what changed."""
    if not isinstance(rule, dict):
        return RuleConversion(index, None, None, problems=[f"{rule!r} is not an object"])
    uuid, description = rule.get("uuid"), rule.get("description")
    result = RuleConversion(index, uuid if isinstance(uuid, str) else None,
                            description if isinstance(description, str) else None)
    result.problems = _rule_problems(rule, result.notes)
    if result.problems:
        return result
    conditions = _convert_parts("condition", rule.get("conditions") or [], convert_condition,
                                result.problems, result.notes)
    actions = _convert_parts("action", rule["actions"], convert_action,
                             result.problems, result.notes)
    if not result.problems:
        result.rule = {"description": result.description, "conditions": conditions,
                       "actions": actions}
        if result.uuid is not None:
            result.rule = {"uuid": result.uuid, **result.rule}
    return result


def rules_in_document(document: Any) -> list[Any]:
    """The rules of a list, a single rule or a ``{"inspection_rules": [...]}`` answer."""
    if isinstance(document, list):
        return document
    if isinstance(document, dict) and isinstance(document.get("inspection_rules"), list):
        return list(document["inspection_rules"])
    if isinstance(document, dict):
        return [document]
    raise ValueError("expected a list of Ironic inspection rules or a single rule object")


def _priority(rule: Any) -> int:
    value = rule.get("priority", 0) if isinstance(rule, dict) else 0
    return value if isinstance(value, int) else 0


def convert_document(document: Any) -> list[RuleConversion]:
    """Convert every rule, returned in the order Ironic runs them (highest priority first)."""
    rules = rules_in_document(document)
    ordered = sorted(enumerate(rules, 1), key=lambda pair: -_priority(pair[1]))
    conversions = [convert_rule(rule, index) for index, rule in ordered]
    for position, conversion in enumerate(conversions, 1):
        if position != conversion.index:
            conversion.notes.insert(0, f"moved to position {position}, Ironic's run order "
                                       "(highest priority first): MetalScope runs rules in "
                                       "creation order")
    return conversions


def format_report(conversions: list[RuleConversion]) -> list[str]:
    """A human-readable report: one block per rule, then a summary line."""
    lines = []
    for conversion in conversions:
        status = "converted" if conversion.converted else "NOT converted"
        lines.append(f"{status}: {conversion.label}")
        lines += ["    - " + textwrap.indent(problem, "      ")[6:]
                  for problem in conversion.problems]
        lines += [f"    note: {note}" for note in conversion.notes]
    done = sum(c.converted for c in conversions)
    lines.append(f"{done} of {len(conversions)} Ironic inspection rule(s) converted"
                 + (f", {len(conversions) - done} not converted" if done < len(conversions)
                    else ""))
    return lines
