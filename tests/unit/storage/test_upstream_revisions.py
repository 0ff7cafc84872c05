"""The shapes of ironic-inspector's revisions and how a database is compared with them."""

from __future__ import annotations

import pytest

from metalscope.storage.upstream_revisions import (
    HEAD,
    REVISIONS,
    SchemaShape,
    TableShape,
    differences,
    shape_at,
)


def test_head_has_the_tables_of_spec_section_12() -> None:
    head = shape_at(HEAD)
    assert not head.epoch_timestamps
    assert head.tables["nodes"].columns == {"uuid", "version_id", "state", "started_at",
                                            "finished_at", "error", "manage_boot"}
    assert head.tables["attributes"] == TableShape(
        frozenset({"uuid", "node_uuid", "name", "value"}), frozenset({"uuid"}))
    assert "scope" in head.tables["rules"].columns
    assert head.tables["introspection_data"].primary_key == {"uuid", "processed"}


def test_first_revision() -> None:
    first = shape_at(REVISIONS[0])
    assert set(first.tables) == {"nodes", "attributes", "options"} and first.epoch_timestamps
    assert first.tables["attributes"].primary_key == {"name", "value"}


@pytest.mark.parametrize("revision", REVISIONS)
def test_each_revision_matches_itself(revision: str) -> None:
    assert differences(shape_at(revision), shape_at(revision)) == []


def test_timestamps_tell_d2e48801c8ef_from_d00d6e3f38c4() -> None:
    assert differences(shape_at("d2e48801c8ef"), shape_at("d00d6e3f38c4")) == [
        "node timestamps are DATETIME"]


def test_half_migrated_attributes() -> None:
    """882b2d84cb1b's first statement ran: node_uuid is there, the key is still (name, value)."""
    expected = shape_at("d00d6e3f38c4")
    tables = dict(expected.tables)
    old = tables["attributes"]
    tables["attributes"] = TableShape(old.columns | {"node_uuid"}, old.primary_key)
    found = SchemaShape(tables, False)
    assert differences(expected, found) == ["attributes has extra column node_uuid"]
    tables["attributes"] = TableShape(old.columns, frozenset({"uuid"}))
    assert differences(expected, SchemaShape(tables, False)) == [
        "attributes primary key is (uuid), expected (name, value)"]


def test_missing_and_unexpected_tables() -> None:
    tables = dict(shape_at("d588418040d").tables)
    del tables["rule_actions"]
    tables["ramdisk_callbacks"] = TableShape(frozenset({"node_uuid"}), frozenset({"node_uuid"}))
    assert differences(shape_at("d588418040d"), SchemaShape(tables, True)) == [
        "unexpected table ramdisk_callbacks", "table rule_actions is missing"]


def test_unknown_revision() -> None:
    with pytest.raises(ValueError, match="unknown ironic-inspector revision nope"):
        shape_at("nope")
