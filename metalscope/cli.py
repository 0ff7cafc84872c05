"""The ``metalscope`` command: serve, db upgrade, simulate-ramdisk, demo."""

from __future__ import annotations

import sys

import click

from metalscope.cli_options import config_options, load_cli_settings
from metalscope.errors import ConfigurationError


@click.group()
def main() -> None:
    """MetalScope: hardware introspection for bare metal, compatible with ironic-inspector."""


@main.command()
@config_options
def serve(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Serve the introspection API."""
    from metalscope.server import run_server
    settings = load_cli_settings(config_files, config_dirs)
    try:
        run_server(settings)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@main.group()
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@config_options
@click.option("--revision", default="head", show_default=True)
def db_upgrade(config_files: tuple[str, ...], config_dirs: tuple[str, ...], revision: str) -> None:
    """Create or migrate the database schema."""
    from metalscope.storage import migrate
    settings = load_cli_settings(config_files, config_dirs)
    migrate.upgrade(settings.database.connection, revision)
    click.echo(f"Database schema is at {migrate.current_revision(settings.database.connection)}")


def _attach_optional_commands() -> None:
    try:
        from metalscope.simulator.command import simulate_ramdisk
    except ImportError:  # pragma: no cover - the simulator ships with the package
        return
    main.add_command(simulate_ramdisk, "simulate-ramdisk")
    from metalscope.demo import demo
    main.add_command(demo, "demo")
    from metalscope.rules.commands import rules as rules_group
    main.add_command(rules_group, "rules")
    from metalscope.pxe_filter.command import pxe_filter_command
    main.add_command(pxe_filter_command, "pxe-filter")
    from metalscope.policy_commands import policy
    main.add_command(policy, "policy")


_attach_optional_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
