"""``metalscope config``: the configuration file, for operators writing one."""

from __future__ import annotations

import click

from metalscope.cli.options import config_options, load_cli_settings
from metalscope.settings import render_sample_config


@click.group("config")
def config() -> None:
    """The configuration file: every section and option MetalScope reads."""


@config.command("sample")
@config_options
def sample_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Print a sample inspector.conf: every option commented out, with its help, type and
    default. With --config-file/--config-dir, the values those files set are shown instead."""
    settings = load_cli_settings(config_files, config_dirs) if config_files or config_dirs else None
    click.echo(render_sample_config(settings), nl=False)
