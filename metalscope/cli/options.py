"""Options and settings loading shared by every ``metalscope`` subcommand."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from metalscope.settings import Settings
from metalscope.settings.loader import load_program_settings


def config_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """``--config-file`` and ``--config-dir`` (both repeatable), as oslo.config takes them."""
    func = click.option("--config-dir", "config_dirs", multiple=True, type=click.Path(),
                        help="A folder of *.conf files (repeatable).")(func)
    return click.option("--config-file", "config_files", multiple=True, type=click.Path(),
                        help="An ironic-inspector style INI file (repeatable).")(func)


def load_cli_settings(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> Settings:
    """Settings for a command; configuration problems become a one-line error, no traceback.

    With no ``--config-file`` (no ``--config-dir``), oslo.config's default places of project
    ``metalscope`` are searched (``~/.metalscope/metalscope.conf``, ``~/metalscope.conf``,
    ``/etc/metalscope/metalscope.conf``, ``/etc/metalscope.conf`` and the ``metalscope.conf.d``
    folders there); embedded defaults apply only when nothing is found."""
    try:
        return load_program_settings(config_files, config_dirs)
    except FileNotFoundError as exc:
        raise click.ClickException(str(exc)) from exc
    except Exception as exc:  # oslo.config parse and value errors
        raise click.ClickException(f"Invalid configuration: {exc}") from exc
