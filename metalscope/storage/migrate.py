"""Schema migrations (Alembic), run by ``metalscope db upgrade/downgrade/version/stamp`` (and
``ironic-inspector-dbsync``) and checked by ``serve`` and ``ironic-inspector-status``.

A database is one of: empty (the schema is created), MetalScope's (its lineage is upgraded),
or ironic-inspector's at one of upstream's revisions: adopted by running the upstream lineage
to upstream's head, stamping MetalScope's first revision (upstream's tables at upstream's
head) and running MetalScope's lineage. Anything else is refused with a one-line
:class:`SchemaError`, before anything is changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util import CommandError

from metalscope.storage import lineages
from metalscope.storage import upstream_revisions as upstream
from metalscope.storage.engine import create_sync_engine
from metalscope.storage.schema_state import (
    Plan,
    SchemaError,
    SchemaState,
    check_upstream,
    plan_upgrade,
    read_state,
)

__all__ = [
    "UPSTREAM_HEAD",
    "VERSION_TABLE",
    "Readiness",
    "SchemaError",
    "Versions",
    "current_revision",
    "downgrade",
    "head_revision",
    "readiness",
    "revision_history",
    "schema_problem",
    "stamp",
    "upgrade",
    "versions",
]

VERSION_TABLE = lineages.METALSCOPE_VERSION_TABLE
UPSTREAM_HEAD = upstream.HEAD


@dataclass(frozen=True)
class Versions:
    """The revisions recorded in a database: MetalScope's and ironic-inspector's."""

    metalscope: str | None
    upstream: str | None


def head_revision() -> str:
    return lineages.metalscope_head()


def revision_history() -> dict[str, list[str]]:
    """Each lineage's revisions, oldest first: MetalScope's and ironic-inspector's."""
    return {"MetalScope": lineages.metalscope_revisions(),
            "ironic-inspector": list(upstream.REVISIONS)}


@contextmanager
def _transaction(connection_url: str, doing: str) -> Iterator[sa.Connection]:
    """One connection and transaction; database errors become a one-line SchemaError."""
    try:
        engine = create_sync_engine(connection_url)
    except sa.exc.ArgumentError as exc:  # its message repeats the URL, password included
        raise SchemaError("[database]connection is not a database URL") from exc
    except (OSError, ValueError) as exc:
        raise SchemaError(f"Cannot open the database of [database]connection: {exc}") from exc
    where = engine.url.render_as_string(hide_password=True)
    try:
        try:
            connection = engine.connect()
        except sa.exc.DBAPIError as exc:
            raise SchemaError(f"Cannot connect to the database {where}: "
                              f"{_first_line(exc)}") from exc
        with connection, connection.begin():
            yield connection
    except sa.exc.DBAPIError as exc:
        raise SchemaError(f"{doing} the database {where} failed: {_first_line(exc)}") from exc
    finally:
        engine.dispose()


def _first_line(exc: sa.exc.DBAPIError) -> str:
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__


def versions(connection_url: str) -> Versions:
    with _transaction(connection_url, "Reading") as connection:
        state = read_state(connection)
    return Versions(state.metalscope_revision, state.upstream_revision)


def current_revision(connection_url: str) -> str | None:
    """MetalScope's revision of the database (None when it has none)."""
    return versions(connection_url).metalscope


def upgrade(connection_url: str, revision: str = "head") -> str | None:
    """Create, upgrade or adopt the schema, up to MetalScope's ``revision``. Returns the
    ironic-inspector revision the database was adopted from, if it was."""
    with _transaction(connection_url, "Upgrading") as connection:
        state = read_state(connection)
        plan = plan_upgrade(state, lineages.metalscope_revisions())
        if plan is Plan.ADOPT:
            _run(command.upgrade, lineages.upstream_config(connection), upstream.HEAD)
            _run(command.stamp, lineages.metalscope_config(connection), lineages.METALSCOPE_BASE)
        _run(command.upgrade, lineages.metalscope_config(connection), revision)
    return state.upstream_revision if plan is Plan.ADOPT else None


def stamp(connection_url: str, revision: str) -> str:
    """Record ``revision`` in the database without migrating anything: ``head`` or one of
    MetalScope's revisions (in ``metalscope_alembic_version``; ironic-inspector's head is then
    recorded too, as in every MetalScope database, unless a revision is recorded there), or
    one of ironic-inspector's (in ``alembic_version``; refused when the database has
    MetalScope's schema). Returns the name of the lineage stamped."""
    target = head_revision() if revision == "head" else revision
    with _transaction(connection_url, "Stamping") as connection:
        if target in lineages.metalscope_revisions():
            _run(command.stamp, lineages.metalscope_config(connection), target)
            lineages.stamp_upstream_head(connection)
            return "MetalScope"
        if target not in upstream.REVISIONS:
            raise SchemaError(f"Unknown revision {revision}: give head, one of MetalScope's "
                              f"({', '.join(lineages.metalscope_revisions())}) or one of "
                              f"ironic-inspector's ({', '.join(upstream.REVISIONS)}).")
        current = read_state(connection).metalscope_revision
        if current is not None:
            raise SchemaError(f"The database has MetalScope's schema (revision {current}): "
                              "stamp one of MetalScope's revisions, or hand the database back "
                              "with downgrade first. Nothing was changed.")
        _run(command.stamp, lineages.upstream_config(connection), target)
        return "ironic-inspector"


def downgrade(connection_url: str, revision: str = UPSTREAM_HEAD) -> bool:
    """Take MetalScope's lineage back to ``revision``: one of its own revisions, or
    upstream's head (the default), which drops MetalScope's own tables and version table and
    leaves a database ironic-inspector runs on. Returns False when there was nothing to do."""
    with _transaction(connection_url, "Downgrading") as connection:
        state = read_state(connection)
        if state.metalscope_revision is None:
            return _nothing_to_downgrade(state, revision)
        plan_upgrade(state, lineages.metalscope_revisions())  # refuses unknown revisions
        if revision != UPSTREAM_HEAD:
            _run(command.downgrade, lineages.metalscope_config(connection),
                 _metalscope_target(revision))
            return True
        _hand_back(connection, state)
    return True


def _metalscope_target(revision: str) -> str:
    if revision not in lineages.metalscope_revisions():
        raise SchemaError(f"Unknown target revision {revision}: give ironic-inspector's head "
                          f"{UPSTREAM_HEAD} or one of MetalScope's "
                          f"({', '.join(lineages.metalscope_revisions())}).")
    return revision


def _nothing_to_downgrade(state: SchemaState, revision: str) -> bool:
    if revision == UPSTREAM_HEAD and state.upstream_revision == UPSTREAM_HEAD:
        return False
    found = (f"ironic-inspector revision {state.upstream_revision}" if state.upstream_revision
             else "no schema revision")
    raise SchemaError(f"The database has no MetalScope schema ({found}): there is nothing "
                      "for `metalscope db downgrade` to take back.")


def _hand_back(connection: sa.Connection, state: SchemaState) -> None:
    """MetalScope's lineage back to its first revision, upstream's head recorded, MetalScope's
    version table dropped: the schema is then exactly what ironic-inspector expects."""
    if state.upstream_revision not in (None, UPSTREAM_HEAD):
        raise SchemaError(f"The database records ironic-inspector revision "
                          f"{state.upstream_revision} beside MetalScope's; expected "
                          f"{UPSTREAM_HEAD}. Nothing was changed.")
    check_upstream(SchemaState(None, UPSTREAM_HEAD, state.shape),
                   ignore=upstream.METALSCOPE_TABLES)
    _run(command.downgrade, lineages.metalscope_config(connection), lineages.METALSCOPE_BASE)
    lineages.stamp_upstream_head(connection)
    connection.execute(sa.text(f"DROP TABLE {VERSION_TABLE}"))


def _run(action: Callable[[Config, str], object], config: Config, revision: str) -> None:
    try:
        action(config, revision)
    except CommandError as exc:
        raise SchemaError(f"Cannot migrate to {revision}: {exc}") from exc


def schema_problem(connection_url: str) -> str | None:
    """None when the schema is at MetalScope's head, else a message telling the operator
    what to run."""
    try:
        state = _state(connection_url)
        plan_upgrade(state, lineages.metalscope_revisions())  # refuses what upgrade refuses
    except SchemaError as exc:
        return str(exc)
    return _problem(state)


@dataclass(frozen=True)
class Readiness:
    """Whether a database is ready for this version of MetalScope."""

    versions: Versions
    #: None at MetalScope's head, else what is wrong and what to run.
    problem: str | None
    #: Whether ``upgrade`` brings the database to MetalScope's head (an empty database, one
    #: of ironic-inspector's to adopt, or MetalScope's at an older revision).
    upgradable: bool


def readiness(connection_url: str) -> Readiness:
    """Where the database stands; SchemaError when it cannot be read."""
    state = _state(connection_url)
    found = Versions(state.metalscope_revision, state.upstream_revision)
    try:
        plan_upgrade(state, lineages.metalscope_revisions())
    except SchemaError as exc:
        return Readiness(found, str(exc), upgradable=False)
    problem = _problem(state)
    return Readiness(found, problem, upgradable=problem is not None)


def _state(connection_url: str) -> SchemaState:
    with _transaction(connection_url, "Reading") as connection:
        return read_state(connection)


def _problem(state: SchemaState) -> str | None:
    head = head_revision()
    current = state.metalscope_revision
    if current == head:
        return None
    if current is None and state.upstream_revision is not None:
        return (f"This is an ironic-inspector database at revision {state.upstream_revision}; "
                "run `metalscope db upgrade` (with the same configuration) to adopt it.")
    found = "no MetalScope schema" if current is None else f"schema revision {current}"
    return (f"The database has {found}, this version of MetalScope needs {head}. "
            f"Run `metalscope db upgrade` (with the same configuration) first.")
