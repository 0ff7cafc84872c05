"""Terminal rendering of the history and diff documents of API 1.19 (pure: text in, lines out)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

#: The diff's categories in the order they are shown.
CATEGORIES = ("system", "firmware", "cpu", "memory", "disks", "nics", "pci", "accelerators",
              "boot")
HISTORY_COLUMNS = ("VERSION", "FINISHED", "SOURCE", "ERROR", "CHANGED", "SUMMARY")
MAX_CELL = 60


def value_text(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _cell(value: Any) -> str:
    text = " ".join(value_text(value).split())
    return text if len(text) <= MAX_CELL else text[:MAX_CELL - 1] + "…"


def _changed_text(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "-")


def history_rows(versions: Iterable[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [(str(v.get("version")), _cell(v.get("finished_at")), _cell(v.get("source")),
             _cell(v.get("error")), _changed_text(v.get("changed")), _cell(v.get("summary")))
            for v in versions]


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in (header, *rows)]
    return [line.rstrip() for line in lines]


def history_lines(uuid: str, versions: Sequence[Mapping[str, Any]]) -> list[str]:
    if not versions:
        return [f"No hardware history for node {uuid}"]
    return table(HISTORY_COLUMNS, history_rows(versions))


def _attributes(attributes: Mapping[str, Any]) -> str:
    return "  ".join(f"{key}={value_text(value)}" for key, value in sorted(attributes.items()))


def _change(field: str, change: Mapping[str, Any]) -> str:
    text = f"{field}: {value_text(change.get('old'))} → {value_text(change.get('new'))}"
    delta = change.get("delta")
    return f"{text} ({delta:+})" if isinstance(delta, int | float) else text


def category_lines(name: str, category: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    for item in category.get("removed", []):
        lines.append(f"  - {item.get('id')}  {_attributes(item.get('attributes') or {})}")
    for item in category.get("added", []):
        lines.append(f"  + {item.get('id')}  {_attributes(item.get('attributes') or {})}")
    for item in category.get("changed", []):
        changes = item.get("changes") or {}
        lines += [f"  ~ {item.get('id')}  {_change(field, change)}"
                  for field, change in sorted(changes.items())]
    return [name, *(line.rstrip() for line in lines)] if lines else []


def _version_label(info: Mapping[str, Any]) -> str:
    return f"version {info.get('version')} ({value_text(info.get('finished_at'))})"


def diff_lines(document: Mapping[str, Any]) -> list[str]:
    """The header (node, from → to), the one-line summary, then each category that changed:
    ``-`` removed, ``+`` added, ``~`` changed with old → new."""
    old, new = document.get("from") or {}, document.get("to") or {}
    lines = [f"Node {new.get('uuid')}: {_version_label(old)} → {_version_label(new)}",
             str(document.get("summary", ""))]
    components = document.get("components") or {}
    names = [*CATEGORIES, *sorted(set(components) - set(CATEGORIES))]
    for name in names:
        section = category_lines(name, components.get(name) or {})
        if name == "memory":
            section = _with_total(section, document.get("memory") or {})
        if section:
            lines += ["", *section]
    return lines


def _with_total(section: list[str], memory: Mapping[str, Any]) -> list[str]:
    """The memory section, led by the total when it changed (and no component shows it)."""
    total = memory.get("total_mb")
    if not isinstance(total, Mapping) or total.get("old") == total.get("new"):
        return section
    if any("total_mb:" in line for line in section):
        return section
    return ["memory", f"  ~ {_change('total_mb', total)}", *section[1:]]
