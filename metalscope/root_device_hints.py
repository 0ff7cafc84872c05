"""Root device hints: parse ``properties.root_device`` and match inventory disks against it.

The hint language is Ironic's (spec 5.4, ``root_disk_selection``): a mapping from a disk
attribute to an expected value, optionally prefixed by an operator (``>= 100``,
``s!= foo``, ``<in> bar``, ``<or> a <or> b``). A disk matches when every hint matches.

* String hints compare case-insensitively: both sides are stripped, lower-cased and
  URL-quoted, so a value containing spaces stays one operand. A disk whose attribute is
  empty never matches a string hint.
* ``size`` is in GiB and is compared with the disk size in bytes divided by 2^30 (not
  rounded). ``=`` means "at least", as in Ironic's documentation.
* ``rotational`` is a boolean (``true``/``yes``/``on``/``1`` and their opposites).

Parsing rejects what Ironic rejects (unknown names, wrongly typed values, non-positive
sizes) with :class:`InvalidRootDeviceHints`; ``root_disk_selection`` turns that into the
upstream ``... because they failed to validate`` message.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any
from urllib.parse import quote

LOG = logging.getLogger(__name__)

GIB = 1 << 30

STRING_HINTS = frozenset({"model", "wwn", "serial", "vendor", "wwn_with_extension",
                          "wwn_vendor_extension", "name", "hctl", "by_path"})
VALID_HINTS = STRING_HINTS | {"size", "rotational"}

LIST_OPERATORS = ("<all-in>", "<in>", "<or>")
STRING_OPERATORS = frozenset({"s==", "s!=", "s<", "s<=", "s>", "s>=", *LIST_OPERATORS})
NUMBER_OPERATORS = frozenset({"==", "!=", "<", "<=", ">", ">=", "=", "<or>"})
# Longest first, so that "s<=" is not read as "s<" and "<in>" not as "<".
_ALL_OPERATORS = tuple(sorted(STRING_OPERATORS | NUMBER_OPERATORS, key=len, reverse=True))

_COMPARISONS: Mapping[str, Callable[[Any, Any], bool]] = MappingProxyType({
    "==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le,
    ">": operator.gt, ">=": operator.ge, "=": operator.ge,
})

_TRUE_WORDS = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE_WORDS = frozenset({"0", "f", "false", "off", "n", "no"})


class InvalidRootDeviceHints(ValueError):
    """The hints cannot be used; the message says why."""


@dataclass(frozen=True)
class Hint:
    """One parsed hint: the disk attribute, the operator and its normalised operands."""

    name: str
    operator: str
    operands: tuple[Any, ...]


def parse_hints(hints: Any) -> list[Hint]:
    """Validate and parse a root device hints mapping (``properties.root_device``)."""
    if not isinstance(hints, Mapping):
        raise InvalidRootDeviceHints(f"Root device hints must be an object, got {hints!r}")
    return [parse_hint(str(name), value) for name, value in hints.items()]


def parse_hint(name: str, value: Any) -> Hint:
    """Validate and parse one hint; raises :class:`InvalidRootDeviceHints`."""
    if name == "size":
        return _parse_size(value)
    if name == "rotational":
        return _parse_rotational(value)
    if name in STRING_HINTS:
        return _parse_string(name, value)
    raise InvalidRootDeviceHints(
        f'Unknown root device hint "{name}", expected one of: {", ".join(sorted(VALID_HINTS))}')


def find_disks(disks: Iterable[dict[str, Any]], hints: list[Hint]) -> list[dict[str, Any]]:
    """Every disk (in inventory order) matching all ``hints``."""
    return [disk for disk in disks if disk_matches(disk, hints)]


def disk_matches(disk: Mapping[str, Any], hints: list[Hint]) -> bool:
    """True when ``disk`` satisfies every hint."""
    return all(_hint_matches(disk, hint) for hint in hints)


def to_bool(value: Any) -> bool | None:
    """A boolean from a bool or one of the usual words; None when it is neither."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    return False if word in _FALSE_WORDS else None


def normalize(value: Any) -> str:
    """The comparable form of a string value: stripped, lower-cased, URL-quoted."""
    return quote(str(value).strip().lower())


# -- parsing ---------------------------------------------------------------------------

def _parse_string(name: str, value: Any) -> Hint:
    if not isinstance(value, str):
        raise InvalidRootDeviceHints(f'Root device hint "{name}" must be a string, got {value!r}')
    op, operands = _split_expression(name, value.lower())
    op = op or "s=="
    if op not in STRING_OPERATORS:
        raise InvalidRootDeviceHints(
            f'Operator "{op}" cannot be used with the string hint "{name}": {value!r}')
    return Hint(name, op, tuple(normalize(item) for item in operands))


def _parse_size(value: Any) -> Hint:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise InvalidRootDeviceHints(f'Root device hint "size" must be an integer, got {value!r}')
    op, operands = _split_expression("size", str(value))
    op = op or "=="
    if op not in NUMBER_OPERATORS:
        raise InvalidRootDeviceHints(
            f'Operator "{op}" cannot be used with the integer hint "size": {value!r}')
    return Hint("size", op, tuple(_positive_int(item, value) for item in operands))


def _parse_rotational(value: Any) -> Hint:
    flag = to_bool(value) if isinstance(value, (bool, int, str)) else None
    if flag is None:
        raise InvalidRootDeviceHints('Root device hint "rotational" must be a boolean, '
                                     f"got {value!r}")
    return Hint("rotational", "==", (flag,))


def _split_expression(name: str, expression: str) -> tuple[str | None, list[str]]:
    """Split ``expression`` into its operator (None if absent) and operand strings."""
    text = expression.strip()
    op = next((candidate for candidate in _ALL_OPERATORS if text.startswith(candidate)), None)
    if op is None:
        operands = [text]
    elif op in LIST_OPERATORS:
        operands = [part.strip() for part in text.split(op)]
    else:
        operands = [text[len(op):].strip()]
    operands = [item for item in operands if item]
    if not operands:
        raise InvalidRootDeviceHints(f'Root device hint "{name}" has an empty value')
    return op, operands


def _positive_int(text: str, original: Any) -> int:
    try:
        number = int(text)
    except ValueError:
        raise InvalidRootDeviceHints(
            f'Root device hint "size" must be an integer, got {original!r}') from None
    if number <= 0:
        raise InvalidRootDeviceHints(
            f'Root device hint "size" must be a positive integer, got {original!r}')
    return number


# -- matching --------------------------------------------------------------------------

def _hint_matches(disk: Mapping[str, Any], hint: Hint) -> bool:
    if hint.name == "size":
        return _size_matches(disk.get("size"), hint)
    if hint.name == "rotational":
        return (disk.get("rotational") is not None
                and to_bool(disk["rotational"]) is hint.operands[0])
    value = disk.get(hint.name)
    if value is None or not str(value).strip():
        LOG.warning('Disk %s has no value for "%s", it cannot match the root device hints',
                    disk.get("name"), hint.name)
        return False
    return _evaluate(hint.operator, normalize(value), hint.operands)


def _size_matches(size: Any, hint: Hint) -> bool:
    if isinstance(size, bool) or not isinstance(size, (int, float)):
        return False
    return _evaluate(hint.operator, size / GIB, hint.operands)


def _evaluate(op: str, value: Any, operands: tuple[Any, ...]) -> bool:
    if op == "<or>":
        return any(value == item for item in operands)
    if op in ("<in>", "<all-in>"):
        return all(item in value for item in operands)
    return _COMPARISONS[op.removeprefix("s")](value, operands[0])
