"""``compare(old, new)``: the hardware difference between two introspections."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from metalscope.hardware.diff import CategoryDiff, diff_views
from metalscope.hardware.summary import UNCHANGED, summarise
from metalscope.hardware.view import CATEGORIES, DEFAULT_CPU_FLAGS, build_view


@dataclass(frozen=True)
class HardwareDiff:
    """What changed between two introspections of one machine.

    ``changed`` is False and ``summary`` is ``"no hardware change"`` when nothing did;
    :meth:`document` is the JSON form the API returns and rules read as ``diff://``.
    """

    changed: bool
    summary: str
    categories: Mapping[str, CategoryDiff] = field(default_factory=dict)
    total_mb: tuple[int | None, int | None] = (None, None)

    def document(self) -> dict[str, Any]:
        """The JSON-ready document: every key always present, lists possibly empty."""
        components = {name: _category_document(self.categories.get(name, CategoryDiff()))
                      for name in CATEGORIES}
        counts = {kind: sum(len(category[kind]) for category in components.values())
                  for kind in ("added", "removed", "changed")}
        old, new = self.total_mb
        delta = new - old if old is not None and new is not None else None
        return {"changed": self.changed, "summary": self.summary, "counts": counts,
                "memory": {"total_mb": {"old": old, "new": new, "delta": delta}},
                "components": components}


def compare(old: Mapping[str, Any], new: Mapping[str, Any], *,
            cpu_flags: Iterable[str] = DEFAULT_CPU_FLAGS) -> HardwareDiff:
    """Compare two processed introspection data dicts (any section may be missing).

    ``cpu_flags`` are the CPU flags whose presence counts (``[capabilities]cpu_flags``'s
    keys by default). Pure: no I/O, never raises on malformed data.
    """
    flags = tuple(cpu_flags)
    before, after = build_view(old, cpu_flags=flags), build_view(new, cpu_flags=flags)
    categories = diff_views(before, after)
    changed = any(not diff.empty for diff in categories.values())
    return HardwareDiff(changed, summarise(categories) if changed else UNCHANGED, categories,
                        (before.total_mb, after.total_mb))


def _category_document(diff: CategoryDiff) -> dict[str, list[dict[str, Any]]]:
    return {
        "added": [{"id": c.id, "attributes": dict(c.attributes)} for c in diff.added],
        "removed": [{"id": c.id, "attributes": dict(c.attributes)} for c in diff.removed],
        "changed": [{"id": c.id, "changes": {name: {"old": old, "new": new}
                                             for name, (old, new) in c.changes.items()}}
                    for c in diff.changed],
    }
