"""Reading the deployment examples in ``deploy/`` the way systemd and an image builder do, so
that tests run the command lines written there instead of copies of them.

* :func:`read_unit`: a systemd unit file as sections of ``(key, value)`` pairs in order
  (a key such as ``ExecStartPre`` may repeat).
* :func:`read_containerfile`: a Containerfile as ``(INSTRUCTION, arguments)`` pairs.
* :func:`exec_form`: the JSON array of ``CMD``/``ENTRYPOINT``/``HEALTHCHECK ... CMD``.
* :func:`metalscope_command`: a ``metalscope`` command line checked by click's parser.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from metalscope.cli import main

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
UNIT_FILE = DEPLOY / "metalscope.service"
CONTAINERFILE = DEPLOY / "Containerfile"
EXAMPLE_CONFIG = DEPLOY / "metalscope.conf"

Unit = dict[str, list[tuple[str, str]]]


def _logical_lines(text: str, comment: tuple[str, ...]) -> list[str]:
    """Lines with comments and blank lines dropped and backslash continuations joined."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith(comment)):
            continue
        if pending and stripped.startswith(comment):
            continue  # comment lines inside a continued line are skipped by both formats
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    if pending:
        lines.append(pending.strip())
    return lines


def read_unit(path: Path = UNIT_FILE) -> Unit:
    unit: Unit = {}
    section: list[tuple[str, str]] | None = None
    for line in _logical_lines(path.read_text(), ("#", ";")):
        if line.startswith("[") and line.endswith("]"):
            section = unit.setdefault(line[1:-1], [])
            continue
        if section is None or "=" not in line:
            raise ValueError(f"{path}: not a unit file line: {line!r}")
        key, _, value = line.partition("=")
        section.append((key.strip(), value.strip()))
    return unit


def values(unit: Unit, section: str, key: str) -> list[str]:
    return [value for name, value in unit.get(section, []) if name == key]


def value(unit: Unit, section: str, key: str) -> str:
    """The one value of ``key`` (systemd takes the last one of a single-valued key)."""
    found = values(unit, section, key)
    if not found:
        raise KeyError(f"[{section}]{key} is not set")
    return found[-1]


def command_line(line: str) -> list[str]:
    """An ``Exec*=`` value split as systemd splits it (quotes as in a shell, no shell)."""
    return shlex.split(line)


def read_containerfile(path: Path = CONTAINERFILE) -> list[tuple[str, str]]:
    instructions = []
    for line in _logical_lines(path.read_text(), ("#",)):
        instruction, _, arguments = line.partition(" ")
        instructions.append((instruction.upper(), arguments.strip()))
    return instructions


def instruction_arguments(instructions: list[tuple[str, str]], name: str) -> list[str]:
    return [arguments for instruction, arguments in instructions if instruction == name]


def exec_form(arguments: str) -> list[str]:
    """The JSON array of an exec-form instruction (the shell form is refused)."""
    argv = json.loads(arguments)
    if not isinstance(argv, list) or not all(isinstance(arg, str) for arg in argv):
        raise ValueError(f"not an exec-form JSON array of strings: {arguments}")
    return argv


@dataclass(frozen=True)
class HealthCheck:
    options: dict[str, str]
    argv: list[str]


def healthcheck(arguments: str) -> HealthCheck:
    """``HEALTHCHECK [--option=value ...] CMD [...]`` split into its options and command."""
    options: dict[str, str] = {}
    rest = arguments
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, _, setting = option[2:].partition("=")
        options[name] = setting
        rest = rest.lstrip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise ValueError(f"HEALTHCHECK without CMD: {arguments}")
    return HealthCheck(options, exec_form(command.strip()))


@dataclass(frozen=True)
class MetalScopeCommand:
    """A ``metalscope`` command line as click parsed it."""

    path: tuple[str, ...]
    params: dict[str, Any]


def metalscope_command(argv: list[str]) -> MetalScopeCommand:
    """Parse ``argv`` (program first) with the real ``metalscope`` command tree; raises
    ``click.UsageError`` for an unknown subcommand or option. Nothing is run."""
    if Path(argv[0]).name != "metalscope":
        raise click.UsageError(f"not the metalscope command: {argv[0]}")
    command: click.Command = main
    context = click.Context(main, info_name="metalscope")
    path: list[str] = []
    rest = list(argv[1:])
    while isinstance(command, click.Group):
        if not rest:
            raise click.UsageError(f"metalscope {' '.join(path)} needs a subcommand")
        name, *rest = rest
        sub = command.get_command(context, name)
        if sub is None:
            raise click.UsageError(f"No such command {name!r} in metalscope {' '.join(path)}")
        path.append(name)
        context = click.Context(sub, info_name=name, parent=context)
        command = sub
    parsed = command.make_context(path[-1], rest, parent=context.parent)
    return MetalScopeCommand(tuple(path), dict(parsed.params))


_TIME_UNITS = {"": 1, "s": 1, "sec": 1, "second": 1, "seconds": 1, "m": 60, "min": 60,
               "minute": 60, "minutes": 60, "ms": 0.001, "msec": 0.001}


def timespan_seconds(text: str) -> float:
    """A systemd time span such as ``15``, ``15s``, ``1min 30s`` in seconds."""
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text.strip())
    if not parts or "".join(f"{n}{u}" for n, u in parts) != re.sub(r"\s", "", text):
        raise ValueError(f"not a time span this test reads: {text!r}")
    return sum(float(number) * _TIME_UNITS[unit] for number, unit in parts)
