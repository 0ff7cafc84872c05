"""Rule edits on a followed node: only traits, extra and maintenance reach Ironic
(follower/actions.py)."""

from __future__ import annotations

from metalscope.follower.actions import DEFAULT_REASON, allowed_actions
from tests import factories


def test_traits_extra_and_maintenance_are_sent_the_rest_refused() -> None:
    changes = factories.node_changes()
    changes.add_trait("CUSTOM_DRIFTED")
    changes.patch([{"op": "add", "path": "/extra/drift", "value": "memory"},
                   {"op": "add", "path": "/maintenance", "value": True},
                   {"op": "add", "path": "/maintenance_reason", "value": "DIMM lost"},
                   {"op": "add", "path": "/properties/memory_mb", "value": 1},
                   {"op": "add", "path": "/driver", "value": "redfish"}])
    changes.update_capabilities(boot_mode="uefi")
    changes.create_port("52:54:00:aa:bb:cc")
    actions = allowed_actions(changes.pending, "memory -4 GiB")
    assert actions.traits_added == ["CUSTOM_DRIFTED"]
    assert actions.extra_ops == [{"op": "add", "path": "/extra/drift", "value": "memory"}]
    assert actions.maintenance is True and actions.maintenance_reason == "DIMM lost"
    assert actions.refused == ["add /properties/memory_mb", "add /driver",
                               "add /properties/capabilities",
                               "create port 52:54:00:aa:bb:cc"]


def test_maintenance_without_a_reason_names_the_drift() -> None:
    changes = factories.node_changes()
    changes.patch([{"op": "add", "path": "/maintenance", "value": "true"}])
    actions = allowed_actions(changes.pending, "disk /dev/sdb removed")
    assert actions.maintenance_reason == f"{DEFAULT_REASON}: disk /dev/sdb removed"


def test_no_edit_is_nothing_to_send() -> None:
    assert allowed_actions(factories.node_changes().pending).is_empty()
