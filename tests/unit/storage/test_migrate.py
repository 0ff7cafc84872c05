"""Migrations on SQLite: the ironic-inspector lineage, adoption, alignment, going back.

Databases at upstream revisions are made here with MetalScope's own lineage; the tests
against databases made by upstream's own tool are in tests/integration.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from metalscope.state_machine import Event, State
from metalscope.storage import lineages, migrate
from metalscope.storage.engine import create_engine, create_sync_engine
from metalscope.storage.repository import Repository
from metalscope.storage.schema_alignment import align, missing_indexes
from metalscope.storage.schema_state import read_state
from metalscope.storage.upstream_revisions import HEAD, REVISIONS, differences, shape_at

NODE = "11111111-1111-4111-8111-111111111111"
OTHER = "22222222-2222-4222-8222-222222222222"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'db.sqlite'}"


@pytest.fixture
def engine(url: str) -> Iterator[sa.Engine]:
    engine = create_sync_engine(url)
    yield engine
    engine.dispose()


def upstream_at(engine: sa.Engine, revision: str) -> None:
    with engine.begin() as conn:
        command.upgrade(lineages.upstream_config(conn), revision)


@pytest.mark.parametrize("revision", REVISIONS)
def test_lineage_builds_each_revisions_shape(engine: sa.Engine, revision: str) -> None:
    upstream_at(engine, revision)
    with engine.connect() as conn:
        found = read_state(conn)
    assert found.upstream_revision == revision and found.metalscope_revision is None
    assert differences(shape_at(revision), found.shape) == []


def test_adopting_the_first_revision_converts_every_row(engine: sa.Engine, url: str) -> None:
    upstream_at(engine, REVISIONS[0])
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO nodes VALUES (:u, 1700000000.5, NULL, NULL), "
                             "(:o, 1700000000, 1700000060.25, 'boom')"), {"u": NODE, "o": OTHER})
        conn.execute(sa.text("INSERT INTO attributes VALUES ('mac', 'aa', :u), ('mac', 'bb', :u), "
                             "('bmc_address', '192.0.2.1', :u)"), {"u": NODE})
    assert migrate.upgrade(url) == REVISIONS[0]
    with engine.connect() as conn:
        nodes = conn.execute(sa.text("SELECT uuid, state, started_at, finished_at, version_id "
                                     "FROM nodes ORDER BY uuid")).all()
        attributes = conn.execute(sa.text("SELECT uuid, node_uuid FROM attributes")).all()
    assert [(n.uuid, n.state, n.version_id) for n in nodes] == [
        (NODE, "finished", ""), (OTHER, "error", "")]
    assert nodes[0].started_at == "2023-11-14 22:13:20.500000"
    assert nodes[1].finished_at == "2023-11-14 22:14:20.250000"
    assert len({a.uuid for a in attributes}) == 3 and {a.node_uuid for a in attributes} == {NODE}
    assert migrate.versions(url) == migrate.Versions(migrate.head_revision(), HEAD)


async def test_null_version_ids_are_aligned(engine: sa.Engine, url: str) -> None:
    """A NULL token never matches a compare-and-set; alignment makes it the empty string."""
    migrate.upgrade(url)
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO nodes (uuid, version_id, state, started_at) "
                             "VALUES (:u, NULL, 'waiting', :t)"),
                     {"u": NODE, "t": datetime.datetime(2023, 1, 1)})
        align(conn)
        align(conn)  # idempotent
    repo = Repository(create_engine(url))
    try:
        record = await repo.get_node(NODE)
        assert record is not None and record.version_id == ""
        assert (await repo.transition(record, Event.PROCESS)).state is State.PROCESSING
    finally:
        await repo.engine.dispose()


def test_missing_indexes() -> None:
    assert missing_indexes([]) == {"attributes_name_value_idx": ("name", "value"),
                                   "attributes_node_uuid_idx": ("node_uuid",)}
    assert missing_indexes([("name", "value", "node_uuid"), ("node_uuid",)]) == {}
    assert list(missing_indexes([("value", "name")])) == ["attributes_name_value_idx",
                                                            "attributes_node_uuid_idx"]


def test_new_database_is_stamped_for_upstream(url: str) -> None:
    assert migrate.upgrade(url) is None
    assert migrate.versions(url) == migrate.Versions(migrate.head_revision(), HEAD)


def test_downgrade_within_metalscope_and_back(url: str, engine: sa.Engine) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url, "0001_initial")
    assert migrate.versions(url) == migrate.Versions("0001_initial", HEAD)
    assert "ramdisk_callbacks" not in sa.inspect(engine).get_table_names()
    migrate.upgrade(url)
    assert migrate.schema_problem(url) is None


def test_downgrade_to_upstream_then_adopt_again(url: str, engine: sa.Engine) -> None:
    migrate.upgrade(url)
    assert migrate.downgrade(url)
    tables = set(sa.inspect(engine).get_table_names())
    assert {"ramdisk_callbacks", migrate.VERSION_TABLE}.isdisjoint(tables)
    assert "ironic-inspector database at revision" in str(migrate.schema_problem(url))
    assert not migrate.downgrade(url)  # nothing left to take back
    assert migrate.upgrade(url) == HEAD


def test_downgrade_refusals(url: str) -> None:
    with pytest.raises(migrate.SchemaError, match="no MetalScope schema"):
        migrate.downgrade(url)
    migrate.upgrade(url)
    with pytest.raises(migrate.SchemaError, match="Unknown target revision nope"):
        migrate.downgrade(url, "nope")


def test_unknown_target_of_upgrade(url: str) -> None:
    with pytest.raises(migrate.SchemaError, match="Cannot migrate to 0099_nope"):
        migrate.upgrade(url, "0099_nope")


def test_cannot_connect(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    (tmp_path / "db.sqlite").mkdir()  # a folder where the file should be
    with pytest.raises(migrate.SchemaError, match=r"^Cannot connect to the database sqlite:///"):
        migrate.upgrade(url)
    assert str(migrate.schema_problem(url)).startswith("Cannot connect")


def test_metalscope_database_from_before_adoption_upgrades(url: str, engine: sa.Engine) -> None:
    """A database an earlier MetalScope left at 0002 (no alembic_version) upgrades as before
    and gets upstream's stamp."""
    migrate.upgrade(url, "0002_ramdisk_callbacks")
    assert "alembic_version" not in sa.inspect(engine).get_table_names()
    assert migrate.upgrade(url) is None
    assert migrate.versions(url) == migrate.Versions(migrate.head_revision(), HEAD)
