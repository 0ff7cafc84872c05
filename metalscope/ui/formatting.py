"""Values as the pages show them: sizes in their units, times in UTC, unknowns as a dash."""

from __future__ import annotations

import datetime
from typing import Any

from metalscope.hardware import units

#: What the pages show for a value nobody knows.
UNKNOWN = "—"


def timestamp(value: datetime.datetime | None) -> str:
    """``2026-01-01 12:05:00 UTC``; naive values are UTC already (as the database keeps them)."""
    if value is None:
        return UNKNOWN
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return f"{value.replace(microsecond=0).isoformat(sep=' ')} UTC"


def memory(mib: int | None) -> str:
    return units.memory_size(mib) if mib is not None else UNKNOWN


def disk(size_bytes: int | None) -> str:
    return units.disk_size(size_bytes) if size_bytes is not None else UNKNOWN


def speed(mbps: int | None) -> str:
    return units.speed(mbps) if mbps is not None else UNKNOWN


#: Attributes of the hardware view whose numbers read better in units.
_UNIT_FORMATS = {"size_mb": memory, "total_mb": memory, "size_bytes": disk,
                 "speed_mbps": speed}


def attribute(name: str, value: Any) -> str:
    """One attribute of a hardware component, e.g. ``size_bytes`` 960197124096 -> 960 GB."""
    if value is None:
        return UNKNOWN
    if name in _UNIT_FORMATS and isinstance(value, int) and not isinstance(value, bool):
        return str(_UNIT_FORMATS[name](value))
    if name == "frequency_mhz" and isinstance(value, int):
        return f"{value} MHz"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value) or UNKNOWN
    return str(value)


def label(name: str) -> str:
    """``size_bytes`` -> ``Size``, ``switch_port_id`` -> ``Switch port id``."""
    for suffix in ("_bytes", "_mbps", "_mb", "_mhz"):
        name = name.removesuffix(suffix)
    return name.replace("_", " ").capitalize()
