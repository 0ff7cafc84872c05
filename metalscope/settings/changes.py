"""Which options differ between two loads of the settings, and which of them may change
while the process runs (the ones oslo.config calls *mutable*)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from metalscope.settings.model import SECTIONS, Settings
from metalscope.settings.option import Declaration, declared


@dataclass(frozen=True)
class OptionChange:
    """One option whose value differs; ``old`` and ``new`` are None for secret options."""

    section: str
    name: str
    old: Any
    new: Any
    mutable: bool

    @property
    def label(self) -> str:
        return f"[{self.section}]{self.name}"


def is_mutable(declaration: Declaration) -> bool:
    return bool(dict(declaration.details).get("mutable", False))


def _is_secret(declaration: Declaration) -> bool:
    return bool(dict(declaration.details).get("secret", False)) or declaration.owner is not None


def changed_options(old: Settings, new: Settings) -> list[OptionChange]:
    """Every declared option whose value differs between ``old`` and ``new``, in the order
    of the sample file."""
    changes = []
    for attribute, (ini_section, section_type) in SECTIONS.items():
        before, after = getattr(old, attribute), getattr(new, attribute)
        for item in declared(section_type):
            was, now = getattr(before, item.name), getattr(after, item.name)
            if was == now:
                continue
            hidden = _is_secret(item.declaration)
            changes.append(OptionChange(ini_section, item.name, None if hidden else was,
                                        None if hidden else now,
                                        is_mutable(item.declaration)))
    return changes


def with_mutable(current: Settings, fresh: Settings) -> Settings:
    """``current`` with the values of ``fresh`` for the mutable options only."""
    replaced: dict[str, Any] = {}
    for attribute, (_ini, section_type) in SECTIONS.items():
        values = {item.name: getattr(getattr(fresh, attribute), item.name)
                  for item in declared(section_type) if is_mutable(item.declaration)}
        if values:
            replaced[attribute] = dataclasses.replace(getattr(current, attribute), **values)
    return dataclasses.replace(current, **replaced)
