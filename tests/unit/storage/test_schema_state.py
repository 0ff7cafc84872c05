"""What ``metalscope db upgrade`` decides for each kind of database, and its messages."""

from __future__ import annotations

import pytest

from metalscope.errors import ConfigurationError
from metalscope.storage.schema_state import (
    Plan,
    SchemaError,
    SchemaState,
    check_upstream,
    plan_upgrade,
)
from metalscope.storage.upstream_revisions import HEAD, SchemaShape, TableShape, shape_at

METALSCOPE = ["0001_initial", "0002_ramdisk_callbacks", "0003_adopted_schema"]
EMPTY = SchemaShape({}, False)


def state(metalscope: str | None = None, upstream: str | None = None,
          shape: SchemaShape = EMPTY) -> SchemaState:
    return SchemaState(metalscope, upstream, shape)


def refusal(found: SchemaState) -> str:
    with pytest.raises(SchemaError) as info:
        plan_upgrade(found, METALSCOPE)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_empty_database_is_created() -> None:
    assert plan_upgrade(state(), METALSCOPE) is Plan.CREATE


def test_metalscope_database_is_upgraded() -> None:
    """Upstream's stamp beside MetalScope's (every MetalScope database has it) changes nothing."""
    assert plan_upgrade(state("0002_ramdisk_callbacks"), METALSCOPE) is Plan.UPGRADE
    found = state("0003_adopted_schema", HEAD, shape_at(HEAD))
    assert plan_upgrade(found, METALSCOPE) is Plan.UPGRADE


@pytest.mark.parametrize("revision", ["578f84f38d", "d00d6e3f38c4", HEAD])
def test_upstream_database_is_adopted(revision: str) -> None:
    found = state(upstream=revision, shape=shape_at(revision))
    assert plan_upgrade(found, METALSCOPE) is Plan.ADOPT


def test_unknown_metalscope_revision() -> None:
    message = refusal(state("0099_future"))
    assert "MetalScope schema revision 0099_future" in message
    assert "its newest is 0003_adopted_schema" in message and "Nothing was changed" in message


def test_unknown_upstream_revision() -> None:
    message = refusal(state(upstream="0123456789ab", shape=shape_at(HEAD)))
    assert message.startswith("This is an ironic-inspector database at revision 0123456789ab")
    assert f"578f84f38d to {HEAD}" in message and "restore a backup" in message


def test_half_migrated() -> None:
    message = refusal(state(upstream="d2e48801c8ef", shape=shape_at("d00d6e3f38c4")))
    assert "revision d2e48801c8ef" in message and "(node timestamps are DATETIME)" in message
    assert "restore the backup" in message and "`ironic-inspector-dbsync upgrade`" in message


def test_long_difference_lists_are_cut() -> None:
    message = refusal(state(upstream=HEAD, shape=shape_at("578f84f38d")))
    assert message.count(";") >= 4 and "; ..." in message


def test_tables_without_a_version() -> None:
    message = refusal(state(shape=shape_at(HEAD)))
    assert "(attributes, introspection_data, nodes, options, rule_actions" in message
    assert "no schema revision" in message


def test_metalscope_tables_in_an_upstream_database() -> None:
    """ramdisk_callbacks in a database only upstream's version table knows: a downgrade
    stopped half-way."""
    tables = {**shape_at(HEAD).tables,
              "ramdisk_callbacks": TableShape(frozenset({"node_uuid"}), frozenset({"node_uuid"}))}
    assert "unexpected table ramdisk_callbacks" in refusal(
        state(upstream=HEAD, shape=SchemaShape(tables, False)))
    check_upstream(state(upstream=HEAD, shape=SchemaShape(tables, False)),
                   ignore=["ramdisk_callbacks"])


def test_refusals_stop_serve_like_configuration_errors() -> None:
    assert issubclass(SchemaError, ConfigurationError)
