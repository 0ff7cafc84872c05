"""``metalscope db upgrade/downgrade/version/stamp``: the database schema."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from metalscope.cli.options import config_options, load_cli_settings

T = TypeVar("T")


@click.group("db")
def db() -> None:
    """Database schema management."""


@db.command("upgrade")
@config_options
@click.option("--revision", default="head", show_default=True,
              help="MetalScope revision to stop at.")
def db_upgrade(config_files: tuple[str, ...], config_dirs: tuple[str, ...], revision: str) -> None:
    """Create the schema, upgrade it, or adopt an ironic-inspector database."""
    from metalscope.storage import migrate
    url = load_cli_settings(config_files, config_dirs).database.connection
    adopted = schema_command(migrate.upgrade, url, revision)
    if adopted is not None:
        click.echo(f"Adopted the ironic-inspector database at revision {adopted}")
    click.echo(f"Database schema is at {schema_command(migrate.current_revision, url)}")


@db.command("downgrade")
@config_options
@click.option("--revision", default="b55109d5063a", show_default=True,
              help="ironic-inspector's head (hand the database back), or a MetalScope revision.")
def db_downgrade(config_files: tuple[str, ...], config_dirs: tuple[str, ...],
                 revision: str) -> None:
    """Take MetalScope's migrations back; by default hand the database back to
    ironic-inspector (drops MetalScope's own tables)."""
    from metalscope.storage import migrate
    url = load_cli_settings(config_files, config_dirs).database.connection
    changed = schema_command(migrate.downgrade, url, revision)
    found = schema_command(migrate.versions, url)
    if not changed:
        click.echo("Nothing to do: the database has no MetalScope schema")
    echo_versions(found)


@db.command("version")
@config_options
def db_version(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Print the MetalScope and ironic-inspector revisions of the database."""
    from metalscope.storage import migrate
    url = load_cli_settings(config_files, config_dirs).database.connection
    echo_versions(schema_command(migrate.versions, url))


@db.command("stamp")
@config_options
@click.option("--revision", required=True,
              help="head, one of MetalScope's revisions or one of ironic-inspector's.")
def db_stamp(config_files: tuple[str, ...], config_dirs: tuple[str, ...], revision: str) -> None:
    """Record a revision in the database without migrating anything (for a schema made or
    repaired by hand)."""
    from metalscope.storage import migrate
    url = load_cli_settings(config_files, config_dirs).database.connection
    schema_command(migrate.stamp, url, revision)
    echo_versions(schema_command(migrate.versions, url))


def echo_versions(found: Any) -> None:
    for line in version_lines(found):
        click.echo(line)


def version_lines(found: Any) -> list[str]:
    """``MetalScope: <revision> (head)`` and ``ironic-inspector: ...`` for a Versions."""
    from metalscope.storage import migrate
    heads = {"MetalScope": migrate.head_revision(), "ironic-inspector": migrate.UPSTREAM_HEAD}
    lines = []
    for name, revision in (("MetalScope", found.metalscope),
                           ("ironic-inspector", found.upstream)):
        suffix = " (head)" if revision == heads[name] else ""
        lines.append(f"{name}: {revision or 'none'}{suffix}")
    return lines


def schema_command(function: Callable[..., T], *args: Any) -> T:
    """Run a schema function; its errors are one line on stderr and exit status 1."""
    from metalscope.storage.migrate import SchemaError
    try:
        return function(*args)
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
