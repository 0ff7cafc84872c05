"""The document :meth:`HardwareDiff.document` gives: the shape the contracts promise."""

from __future__ import annotations

import copy
import dataclasses
import json
from typing import Any

import pytest

from metalscope.hardware import CATEGORIES, UNCHANGED, HardwareDiff, compare

CATEGORY_KEYS = {"added", "removed", "changed"}


def _data(physical_mb: int = 65536, disks: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"inventory": {
        "memory": {"total": physical_mb * 1024 * 1024, "physical_mb": physical_mb},
        "disks": disks if disks is not None else [
            {"name": "/dev/sda", "serial": "S1", "size": 480 * 10**9, "rotational": False}],
    }}


def _walk(document: dict[str, Any], path: str) -> Any:
    value: Any = document
    for part in path.split("."):
        value = value[part]
    return value


def test_unchanged_document_has_every_key() -> None:
    diff = compare(_data(), copy.deepcopy(_data()))
    document = diff.document()
    assert diff.changed is False and diff.summary == UNCHANGED
    assert set(document) == {"changed", "summary", "counts", "memory", "components"}
    assert document["changed"] is False and document["summary"] == UNCHANGED
    assert document["counts"] == {"added": 0, "removed": 0, "changed": 0}
    assert document["memory"] == {"total_mb": {"old": 65536, "new": 65536, "delta": 0}}
    assert list(document["components"]) == list(CATEGORIES)
    assert list(CATEGORIES) == ["system", "firmware", "cpu", "memory", "disks", "nics", "pci",
                                "accelerators", "boot"]
    for category in document["components"].values():
        assert category == {"added": [], "removed": [], "changed": []}


def test_document_is_json_and_entries_have_their_shape() -> None:
    new = _data(57344, disks=[{"name": "/dev/sda", "serial": "S2", "size": 480 * 10**9}])
    document = compare(_data(), new).document()
    assert json.loads(json.dumps(document)) == document
    disks = document["components"]["disks"]
    assert [set(entry) for entry in disks["added"] + disks["removed"]] == [
        {"id", "attributes"}, {"id", "attributes"}]
    memory = document["components"]["memory"]["changed"]
    assert memory == [{"id": "total", "changes": {"total_mb": {"old": 65536, "new": 57344}}}]
    assert document["counts"] == {"added": 1, "removed": 1, "changed": 1}


def test_rule_example_paths_exist_with_the_right_types() -> None:
    # "memory decreased": diff://memory.total_mb.delta < 0
    # "any disk removed": diff://components.disks.removed is not empty
    document = compare(_data(), _data(57344, disks=[])).document()
    delta = _walk(document, "memory.total_mb.delta")
    removed = _walk(document, "components.disks.removed")
    assert isinstance(delta, int) and delta == -8192
    assert isinstance(removed, list) and [entry["id"] for entry in removed] == ["serial:S1"]
    unchanged = compare(_data(), _data()).document()
    assert _walk(unchanged, "memory.total_mb.delta") == 0
    assert _walk(unchanged, "components.disks.removed") == []


def test_unknown_total_gives_null_delta() -> None:
    document = compare({}, _data()).document()
    assert document["memory"]["total_mb"] == {"old": None, "new": 65536, "delta": None}
    assert document["changed"] is False


def test_hardware_diff_is_frozen_with_the_contract_fields() -> None:
    diff = compare(_data(), _data(32768))
    assert isinstance(diff, HardwareDiff)
    assert diff.changed is True
    assert diff.summary == "memory 64 GiB → 32 GiB"
    with pytest.raises(dataclasses.FrozenInstanceError):
        diff.changed = False  # type: ignore[misc]
