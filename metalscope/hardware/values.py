"""Reading loosely shaped introspection data: typed accessors that never raise.

The ramdisk's data may lack any section and firmware fills unknown fields with placeholders
("Not Specified", "To Be Filled By O.E.M."...); everything here turns what cannot be relied
upon into ``None``, which the diff treats as "unknown", never as a change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Values firmware and tools put where they know nothing (compared case-insensitively).
PLACEHOLDERS = frozenset({
    "", "none", "null", "n/a", "na", "unknown", "not specified", "not provided", "not available",
    "to be filled by o.e.m.", "default string", "system serial number", "0", "00000000",
    "0123456789", "no module installed", "unknown manufacturer", "[empty]", "empty",
})

_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B)\s*$", re.IGNORECASE)
_SIZE_MB = {"b": 1 / (1 << 20), "kb": 1 / 1024, "kib": 1 / 1024, "mb": 1, "mib": 1,
            "gb": 1024, "gib": 1024, "tb": 1 << 20, "tib": 1 << 20}
_SPEED_RE = re.compile(r"^\s*(\d+)\s*(MT/s|MHz)\s*$", re.IGNORECASE)


def mapping(value: Any) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def dig(data: Any, *path: str) -> Any:
    """``data[path[0]][path[1]]...``, or None when any step is missing or not a mapping."""
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def text(value: Any) -> str | None:
    """A meaningful string (stripped), or None for missing values and placeholders."""
    if value is None or isinstance(value, bool | Mapping | list):
        return None
    result = str(value).strip()
    return None if result.lower() in PLACEHOLDERS else result


def integer(value: Any) -> int | None:
    """An integer from an int, a float or a numeric string; None otherwise."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None


def flag(value: Any) -> bool | None:
    """A boolean, or None when the value is not one."""
    return value if isinstance(value, bool) else None


def dmi_size_mb(value: Any) -> int | None:
    """A dmidecode size (``"16 GB"``, ``"16384 MB"``) in MiB; None for empty slots."""
    match = _SIZE_RE.match(str(value)) if isinstance(value, str) else None
    if match is None:
        return None
    return int(float(match.group(1)) * _SIZE_MB[match.group(2).lower()])


def dmi_speed(value: Any) -> int | None:
    """A dmidecode speed (``"3200 MT/s"``, ``"2666 MHz"``) as a number; None when unknown."""
    match = _SPEED_RE.match(str(value)) if isinstance(value, str) else None
    return int(match.group(1)) if match else None


def mac(value: Any) -> str | None:
    """A MAC address in lower case, or None."""
    result = text(value)
    return result.lower() if result else None
