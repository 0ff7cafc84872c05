"""Finding the virtual environment of the Ironic that ``metalscope demo`` runs.

In a checkout, ``scripts/setup`` makes ``.venv-ironic`` beside ``.venv``. An installed wheel
has no checkout around it, so the place can be given (``--ironic-venv`` or the
``METALSCOPE_IRONIC_VENV`` environment variable, the same variable the tests read), and
otherwise a few usual places are tried in order.
"""

from __future__ import annotations

from pathlib import Path

#: The environment variable naming an Ironic virtual environment.
IRONIC_VENV_ENV = "METALSCOPE_IRONIC_VENV"
#: The commands of Ironic that :class:`~metalscope.testing.ironic.LocalIronic` runs.
IRONIC_COMMANDS = ("ironic", "ironic-dbsync")


class IronicVenvNotFound(Exception):
    """No usable Ironic virtual environment; the message says where it looked and what to do."""


def has_ironic(venv: Path) -> bool:
    return all((venv / "bin" / command).is_file() for command in IRONIC_COMMANDS)


def candidate_venvs(cwd: Path, prefix: Path) -> list[Path]:
    """Where an Ironic is looked for when none is named: ``.venv-ironic`` in the current
    folder, ``.venv-ironic`` beside the environment MetalScope runs from (a checkout's
    ``.venv``), and that environment itself (Ironic installed next to MetalScope)."""
    return [cwd / ".venv-ironic", prefix.parent / ".venv-ironic", prefix]


def find_ironic_venv(given: Path | None, cwd: Path, prefix: Path) -> Path:
    """The Ironic virtual environment to run: ``given`` when named (it must have Ironic),
    else the first of :func:`candidate_venvs` that has it."""
    if given is not None:
        venv = given.absolute()
        if has_ironic(venv):
            return venv
        raise IronicVenvNotFound(
            f"No Ironic in {venv}: {venv / 'bin' / 'ironic'} or "
            f"{venv / 'bin' / 'ironic-dbsync'} is missing. {_HINT}")
    candidates = [path.absolute() for path in candidate_venvs(cwd, prefix)]
    for venv in candidates:
        if has_ironic(venv):
            return venv
    tried = ", ".join(str(path) for path in candidates)
    raise IronicVenvNotFound(f"No Ironic found (looked in {tried}). {_HINT}")


_HINT = (f"Name a virtual environment with Ironic installed with --ironic-venv or "
         f"{IRONIC_VENV_ENV} (for instance: python3 -m venv ironic-venv && "
         "ironic-venv/bin/pip install ironic; in a checkout, scripts/setup makes .venv-ironic)")
