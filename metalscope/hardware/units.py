"""Sizes as people read them: memory in binary units, disks in the vendors' decimal units."""

from __future__ import annotations


def memory_size(mib: int) -> str:
    """``65536`` -> ``"64 GiB"``, ``1536`` -> ``"1.5 GiB"``, ``512`` -> ``"512 MiB"``."""
    if abs(mib) >= 1024 * 1024:
        return f"{_number(mib / (1024 * 1024))} TiB"
    if abs(mib) >= 1024:
        return f"{_number(mib / 1024)} GiB"
    return f"{mib} MiB"


def disk_size(size_bytes: int) -> str:
    """``1_800_000_000_000`` -> ``"1.8 TB"``, ``960_197_124_096`` -> ``"960 GB"``."""
    for unit, factor in (("TB", 10**12), ("GB", 10**9), ("MB", 10**6)):
        if abs(size_bytes) >= factor:
            return f"{_number(size_bytes / factor)} {unit}"
    return f"{size_bytes} B"


def speed(mbps: int) -> str:
    """``25000`` -> ``"25 Gb/s"``, ``100`` -> ``"100 Mb/s"``."""
    return f"{_number(mbps / 1000)} Gb/s" if mbps >= 1000 else f"{mbps} Mb/s"


def _number(value: float) -> str:
    # One decimal below 100, none above: "1.8", "56", "960".
    rounded = round(value, 1) if abs(value) < 100 else round(value)
    return f"{rounded:g}" if abs(rounded) < 1e6 else str(int(rounded))
