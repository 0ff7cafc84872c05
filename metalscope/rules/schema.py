"""The JSON schemas of a rule's ``conditions`` and ``actions`` and the error texts they give.

Upstream checks both lists with a JSON schema (spec 7.2 steps 1-2) and answers 400 with the
whole text of the validation error: what is wrong, which schema keyword failed where, and
the offending value::

    Validation failed for conditions: 'foo' is not one of ['contains', 'eq', ...]

    Failed validating 'enum' in schema['items']['properties']['op']:
        {'description': 'condition operator',
         'enum': ['contains', 'eq', ...]}

    On instance[0]['op']:
        'foo'

The schemas here are upstream's, word for word (their descriptions appear in the text), with
the registered names sorted as upstream's entry points list them. :func:`schema_error`
checks the few keywords they use (``type``, ``enum``, ``required``, ``minItems``, ``items``,
``properties``), collects every error in the order the reference validator meets them and
reports the one it would pick as the best match: the one nearest the top of the value, and
among siblings the last; then the first met.
"""

from __future__ import annotations

import pprint
import textwrap
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]
_TYPES: dict[str, type | tuple[type, ...]] = {
    "array": list, "object": dict, "string": str, "boolean": bool}


def conditions_schema(operators: Iterable[str]) -> dict[str, Any]:
    """Upstream's conditions schema for these operator names."""
    return {
        "title": "Inspector rule conditions schema",
        "type": "array",
        "minItems": 0,
        "items": {
            "type": "object",
            "required": ["op", "field"],
            "properties": {
                "op": {"description": "condition operator", "enum": sorted(operators)},
                "field": {"description": "JSON path to field for matching", "type": "string"},
                "multiple": {"description": "how to treat multiple values",
                             "enum": ["all", "any", "first"]},
                "invert": {"description": "whether to invert the result", "type": "boolean"},
            },
            "additionalProperties": True,
        },
    }


def actions_schema(actions: Iterable[str]) -> dict[str, Any]:
    """Upstream's actions schema for these action names."""
    return {
        "title": "Inspector rule actions schema",
        "type": "array",
        "minItems": 1,
        "items": {
            "type": "object",
            "required": ["action"],
            "properties": {"action": {"description": "action to take", "enum": sorted(actions)}},
            "additionalProperties": True,
        },
    }


@dataclass(frozen=True)
class SchemaError:
    """One failed keyword: where in the value, where in the schema, and why."""

    message: str
    keyword: str
    path: Path
    schema_path: Path
    schema: Mapping[str, Any]
    instance: Any

    def __str__(self) -> str:
        return (f"{self.message}\n\n"
                f"Failed validating {self.keyword!r} in {_index('schema', self.schema_path)}:\n"
                f"    {_pretty(self.schema)}\n\n"
                f"On {_index('instance', self.path)}:\n"
                f"    {_pretty(self.instance)}")

    def relevance(self) -> tuple[Any, ...]:
        """Bigger is more relevant: shallower, then later among siblings, then an error in a
        schema whose own type the value does not have."""
        return (-len(self.path), self.path, not _matches_type(self.instance, self.schema))


def schema_error(instance: Any, schema: Mapping[str, Any]) -> SchemaError | None:
    """The best-matching error of ``instance`` against ``schema``, or None when it is valid."""
    best: SchemaError | None = None
    for error in _errors(instance, schema, (), ()):
        if best is None or error.relevance() > best.relevance():
            best = error
    return best


def _errors(instance: Any, schema: Mapping[str, Any], path: Path,
            schema_path: Path) -> Iterator[SchemaError]:
    for keyword, value in schema.items():
        check = _KEYWORDS.get(keyword)
        if check is None:
            continue
        for found in check(instance, value, path, (*schema_path, keyword)):
            if isinstance(found, SchemaError):
                yield found
            else:
                yield SchemaError(found, keyword, path, schema_path, schema, instance)


def _type(instance: Any, expected: str, path: Path, schema_path: Path) -> Iterator[Any]:
    if not _is_type(instance, expected):
        yield f"{instance!r} is not of type {expected!r}"


def _enum(instance: Any, allowed: list[Any], path: Path, schema_path: Path) -> Iterator[Any]:
    # The enums here hold strings only: a value equals one of them when it is that string.
    if not (isinstance(instance, str) and instance in allowed):
        yield f"{instance!r} is not one of {allowed!r}"


def _required(instance: Any, names: list[str], path: Path, schema_path: Path) -> Iterator[Any]:
    if isinstance(instance, dict):
        yield from (f"{name!r} is a required property" for name in names if name not in instance)


def _min_items(instance: Any, minimum: int, path: Path, schema_path: Path) -> Iterator[Any]:
    if isinstance(instance, list) and len(instance) < minimum:
        yield f"{instance!r} {'should be non-empty' if minimum == 1 else 'is too short'}"


def _items(instance: Any, items: Mapping[str, Any], path: Path,
           schema_path: Path) -> Iterator[Any]:
    if isinstance(instance, list):
        for index, item in enumerate(instance):
            yield from _errors(item, items, (*path, index), schema_path)


def _properties(instance: Any, properties: Mapping[str, Any], path: Path,
                schema_path: Path) -> Iterator[Any]:
    if isinstance(instance, dict):
        for name, subschema in properties.items():
            if name in instance:
                yield from _errors(instance[name], subschema, (*path, name),
                                   (*schema_path, name))


_KEYWORDS: dict[str, Callable[[Any, Any, Path, Path], Iterator[Any]]] = {
    "type": _type, "enum": _enum, "required": _required, "minItems": _min_items,
    "items": _items, "properties": _properties}


def _is_type(instance: Any, expected: str) -> bool:
    return isinstance(instance, _TYPES[expected])


def _matches_type(instance: Any, schema: Mapping[str, Any]) -> bool:
    expected = schema.get("type")
    return expected is not None and _is_type(instance, expected)


def _index(container: str, indices: Path) -> str:
    """``schema['items']['properties']['op']``, ``instance[0]``; the bare word when empty."""
    return container + "".join(f"[{index!r}]" for index in indices)


def _pretty(thing: Any) -> str:
    """pprint at 72 columns, the lines after the first indented by four spaces."""
    return textwrap.indent(pprint.pformat(thing, width=72, sort_dicts=False), "    ").lstrip()
