"""``metalscope serve``: the introspection API and every other duty, in one process."""

from __future__ import annotations

import click

from metalscope.cli.options import config_options, load_cli_settings
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings, load_settings


@click.command("serve")
@config_options
def serve(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Serve the introspection API."""
    from metalscope.server import run_server
    settings = load_cli_settings(config_files, config_dirs)

    def reload_settings() -> Settings:
        return load_settings(list(config_files), list(config_dirs))

    try:
        run_server(settings, reload_settings=reload_settings if not settings.embedded else None)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc
