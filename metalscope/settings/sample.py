"""A sample configuration file in the style of ``oslo-config-generator``.

Every section and every option, commented out: its help text, its type and limits, its
deprecated names, and its value (the default, or the value in the settings given). Options
that keystoneauth and oslo.policy register in MetalScope's sections are listed after
MetalScope's own, under the library's name.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from metalscope.settings.libraries import library_opts
from metalscope.settings.model import SECTIONS, Settings
from metalscope.settings.option import Declared, declared

WIDTH = 70
HEADER = "Sample MetalScope configuration (ironic-inspector's options)"
#: How a secret value other than the default is shown.
HIDDEN = "****"


class Literal(str):
    """Text shown as it is in place of a value (a computed default's description)."""


@dataclass(frozen=True)
class Entry:
    """One option of the sample: the oslo.config option, its value and who registers it."""

    opt: Any
    value: Any
    origin: str


def render_sample_config(settings: Settings | None = None) -> str:
    """The sample file: defaults, or with ``settings`` the values those settings hold."""
    lines = [f"# {HEADER}"]
    for ini_section in dict.fromkeys(section for section, _ in SECTIONS.values()):
        lines += ["", f"[{ini_section}]"]
        origin = None
        for entry in _entries(settings, ini_section):
            if entry.origin != origin:
                origin = entry.origin
                lines += ["", "#", f"# From {origin}", "#"]
            lines += ["", *_option_lines(ini_section, entry)]
    return "\n".join(lines) + "\n"


def _entries(settings: Settings | None, ini_section: str) -> Iterator[Entry]:
    shown: dict[str, Any] = {}
    library = library_opts(ini_section)
    library_names = {opt.dest for opt in library}
    for attribute, (section, kind) in SECTIONS.items():
        if section != ini_section:
            continue
        values = getattr(settings, attribute) if settings is not None else None
        for item in declared(kind):
            declaration = item.declaration
            if declaration.owner is None or item.name not in library_names:
                yield Entry(declaration.opt(item.name), _value(item, values), "metalscope")
            elif values is not None or declaration.sets_default:
                shown[item.name] = _value(item, values)
    for opt in library:
        origin = "oslo.policy" if ini_section == "oslo_policy" else "keystoneauth1"
        yield Entry(opt, shown.get(opt.dest, opt.default), origin)


def _value(item: Declared, values: Any) -> Any:
    declaration = item.declaration
    if values is None:
        if declaration.sample_default is not None:
            return Literal(declaration.sample_default)
        return declaration.default
    value = getattr(values, item.name)
    if dict(declaration.details).get("secret") and value != declaration.default:
        return Literal(HIDDEN)
    return value


def _option_lines(ini_section: str, entry: Entry) -> list[str]:
    opt = entry.opt
    lines = _comment(f"{opt.help or ''} ({_type_name(opt.type)})")
    lines += _comment(_limits(opt.type))
    for old in opt.deprecated_opts:
        lines.append(f"# Deprecated group/name - [{old.group or ini_section}]/"
                     f"{old.name or opt.dest}")
    if getattr(opt, "deprecated_for_removal", False):
        lines += _comment("This option is deprecated for removal. "
                          f"{getattr(opt, 'deprecated_reason', None) or ''}".strip())
    if opt.multi and isinstance(entry.value, list) and entry.value:
        lines += [f"#{opt.dest} = {_text(value)}" for value in entry.value]
    else:
        lines.append(f"#{opt.dest} = {_text(entry.value)}".rstrip())
    return lines


def _type_name(kind: Any) -> str:
    """oslo.config's name of a type ("string value"); a plain ``str`` type is a string."""
    return str(getattr(kind, "type_name", "string value"))


def _limits(kind: Any) -> str:
    parts = []
    if getattr(kind, "min", None) is not None:
        parts.append(f"Minimum value: {kind.min}")
    if getattr(kind, "max", None) is not None:
        parts.append(f"Maximum value: {kind.max}")
    choices = getattr(kind, "choices", None)
    if choices:
        parts.append("Allowed values: " + ", ".join(_text(choice) if choice else repr(choice)
                                                   for choice in choices))
    return ". ".join(parts)


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(text, WIDTH, break_on_hyphens=False)]


def _text(value: Any) -> str:
    """A value as an INI file spells it (oslo.config strips the quotes it may add)."""
    if isinstance(value, Literal):
        return str(value)
    if value is None:
        return "<None>"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return ",".join(f"{key}:{item}" for key, item in sorted(value.items()))
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    text = str(value)
    return f'"{text}"' if text != text.strip() else text
