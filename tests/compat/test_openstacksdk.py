"""openstacksdk 4.22.0's ``baremetal_introspection`` proxy, unmodified, against MetalScope.

The connection has no authentication and an endpoint override for the
``baremetal-introspection`` service type. The SDK sends no version header except where it pins
one (``1.17`` for unprocessed data) and creates rules with ``POST /v1/rules/<uuid>``, which
MetalScope accepts (inspector.md 2.5, ecosystem.md 5.2).
"""

from __future__ import annotations

import uuid as uuidlib
from typing import Any

import pytest
from openstack import connection, exceptions

from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope
from tests.compat.helpers import (
    NodeFactory,
    enroll,
    machine,
    post_ramdisk_data,
    run_ramdisk,
    wait_for,
)

# openstacksdk 4.22 raises its own pending-removal warnings on every connection and resource
# (an InfluxDB notice even when metrics are off, ``_compute_attributes``); they concern the SDK's
# internals, not MetalScope, so they are not turned into errors here.
pytestmark = [pytest.mark.compat,
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]

# Compat machine offsets 20-29 belong to this module (see helpers.FIRST_INDEX).
CONDITIONS = [{"op": "ge", "field": "memory_mb", "value": 1024}]
ACTIONS = [{"action": "set-attribute", "path": "/extra/sdk", "value": "seen"}]


def wait_waiting(sdk: connection.Connection, node_id: str) -> Any:
    """The introspection once it has left ``starting``."""
    def probe() -> Any:
        found = sdk.baremetal_introspection.get_introspection(node_id)
        return found if found.state != "starting" else None
    return wait_for(probe, what="introspection to leave starting")


class TestIntrospection:
    def test_whole_introspection(self, sdk: connection.Connection, metalscope: LocalMetalScope,
                                 ironic: LocalIronic, make_node: NodeFactory) -> None:
        """start, get and wait report ids, states and finished flags through to ``finished``."""
        box = machine(20)
        node = enroll(make_node, box)
        started = sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=False)
        assert started.id == node["uuid"]
        assert started.state in ("starting", "waiting") and started.is_finished is False
        waiting = wait_waiting(sdk, node["uuid"])
        assert (waiting.state, waiting.is_finished, waiting.error) == ("waiting", False, None)
        assert waiting.finished_at is None and waiting.started_at is not None
        run_ramdisk(metalscope.url, box)
        done = sdk.baremetal_introspection.wait_for_introspection(node["uuid"], timeout=60)
        assert (done.id, done.state, done.is_finished, done.error) == (
            node["uuid"], "finished", True, None)
        assert done.finished_at is not None
        assert done.links == [{"href": f"{metalscope.url}/v1/introspection/{node['uuid']}",
                               "rel": "self"}]
        assert ironic.get_node(node["uuid"])["properties"]["memory_mb"] == str(box.memory_mb)
        assert ironic.get_node(node["uuid"])["power_state"] is None

    @pytest.mark.parametrize("manage_boot", [None, True])
    def test_managed_start(self, sdk: connection.Connection, ironic: LocalIronic,
                           make_node: NodeFactory, manage_boot: bool | None) -> None:
        """The server default and ``manage_boot=True`` both power the node on."""
        node = enroll(make_node, machine(21))
        sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=manage_boot)
        assert wait_waiting(sdk, node["uuid"]).state == "waiting"
        assert wait_for(lambda: ironic.get_node(node["uuid"])["power_state"] == "power on",
                        timeout=10, what="power on")
        sdk.baremetal_introspection.abort_introspection(node["uuid"])

    def test_introspection_data(self, sdk: connection.Connection, metalscope: LocalMetalScope,
                                make_node: NodeFactory) -> None:
        """Processed data has the hooks' additions; the unprocessed copy (API 1.17) has none."""
        box = machine(22)
        node = enroll(make_node, box)
        sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=False)
        wait_waiting(sdk, node["uuid"])
        posted = run_ramdisk(metalscope.url, box)
        sdk.baremetal_introspection.wait_for_introspection(node["uuid"], timeout=60)
        processed = sdk.baremetal_introspection.get_introspection_data(node["uuid"])
        unprocessed = sdk.baremetal_introspection.get_introspection_data(node["uuid"],
                                                                          processed=False)
        assert processed["inventory"] == unprocessed["inventory"] == posted["inventory"]
        assert "all_interfaces" in processed and "all_interfaces" not in unprocessed
        assert "logs" not in processed and "logs" not in unprocessed

    def test_list_pages(self, sdk: connection.Connection, make_node: NodeFactory) -> None:
        """introspections() lists newest first, and paging by limit/marker yields the same."""
        uuids = []
        for offset in (23, 24, 25):
            node = enroll(make_node, machine(offset))
            sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=False)
            wait_waiting(sdk, node["uuid"])
            uuids.append(node["uuid"])
        try:
            listed = [item.id for item in sdk.baremetal_introspection.introspections()]
            assert [u for u in listed if u in uuids] == uuids[::-1]
            paged = [item.id for item in sdk.baremetal_introspection.introspections(limit=2)]
            assert paged == listed
        finally:
            for node_id in uuids:
                sdk.baremetal_introspection.abort_introspection(node_id)

    def test_abort(self, sdk: connection.Connection, metalscope: LocalMetalScope,
                   make_node: NodeFactory) -> None:
        """An aborted introspection ends in ``error``, which wait treats as a failure."""
        box = machine(26)
        node = enroll(make_node, box)
        sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=False)
        wait_waiting(sdk, node["uuid"])
        assert sdk.baremetal_introspection.abort_introspection(node["uuid"]) is None
        ended = sdk.baremetal_introspection.wait_for_introspection(node["uuid"], timeout=60,
                                                                   ignore_error=True)
        assert (ended.state, ended.is_finished, ended.error) == (
            "error", True, "Canceled by operator")
        with pytest.raises(exceptions.ResourceFailure, match="Canceled by operator"):
            sdk.baremetal_introspection.wait_for_introspection(node["uuid"], timeout=60)
        assert post_ramdisk_data(metalscope.url, ramdisk_data(box)).status_code == 400


class TestErrors:
    def test_unknown_introspection(self, sdk: connection.Connection) -> None:
        """get, data and a strict abort of an unknown node raise NotFoundException."""
        node_id = str(uuidlib.uuid4())
        proxy = sdk.baremetal_introspection
        calls = {
            proxy.get_introspection: f"Could not find node {node_id} in cache",
            proxy.get_introspection_data:
                f"Introspection data not found for node {node_id}, processed=True",
        }
        for call, message in calls.items():
            with pytest.raises(exceptions.NotFoundException) as caught:
                call(node_id)
            assert caught.value.details == message
        with pytest.raises(exceptions.NotFoundException) as caught:
            sdk.baremetal_introspection.abort_introspection(node_id, ignore_missing=False)
        assert caught.value.details == f"Could not find node {node_id} in cache"
        assert sdk.baremetal_introspection.abort_introspection(node_id) is None

    def test_start_node_not_in_ironic(self, sdk: connection.Connection) -> None:
        """Starting a node Ironic does not know is a NotFoundException with upstream's text."""
        node_id = str(uuidlib.uuid4())
        with pytest.raises(exceptions.NotFoundException) as caught:
            sdk.baremetal_introspection.start_introspection(node_id)
        assert caught.value.details == f"Node {node_id} was not found in Ironic"


@pytest.mark.usefixtures("no_rules")
class TestRules:
    def test_rule_life_cycle(self, sdk: connection.Connection) -> None:
        """create (POST /v1/rules/<uuid>), get, list and delete round-trip a rule."""
        rule_id = str(uuidlib.uuid4())
        created = sdk.baremetal_introspection.create_introspection_rule(
            id=rule_id, conditions=CONDITIONS, actions=ACTIONS, description="sdk rule")
        assert created.id == rule_id
        assert created.conditions == [{**CONDITIONS[0], "multiple": "any", "invert": False}]
        assert (created.actions, created.description, created.scope) == (
            ACTIONS, "sdk rule", None)
        assert created.links == [{"href": f"/v1/rules/{rule_id}", "rel": "self"}]
        fetched = sdk.baremetal_introspection.get_introspection_rule(rule_id)
        assert fetched.to_dict() == created.to_dict()
        listed = list(sdk.baremetal_introspection.introspection_rules())
        assert [(rule.id, rule.description) for rule in listed] == [(rule_id, "sdk rule")]
        sdk.baremetal_introspection.delete_introspection_rule(rule_id)
        assert list(sdk.baremetal_introspection.introspection_rules()) == []
        with pytest.raises(exceptions.NotFoundException):
            sdk.baremetal_introspection.get_introspection_rule(rule_id)

    def test_delete_missing_rule(self, sdk: connection.Connection) -> None:
        """Deleting a missing rule is silent by default and a 404 when asked to be strict."""
        rule_id = str(uuidlib.uuid4())
        assert sdk.baremetal_introspection.delete_introspection_rule(rule_id) is None
        with pytest.raises(exceptions.NotFoundException) as caught:
            sdk.baremetal_introspection.delete_introspection_rule(rule_id, ignore_missing=False)
        assert caught.value.details == f"Rule {rule_id} was not found"

    def test_bad_rule(self, sdk: connection.Connection) -> None:
        """An invalid rule is a BadRequestException carrying the validation message."""
        with pytest.raises(exceptions.BadRequestException) as caught:
            sdk.baremetal_introspection.create_introspection_rule(
                id=str(uuidlib.uuid4()), conditions=[], actions=[{"action": "fail"}])
        assert caught.value.details == (
            "Invalid parameters for action fail: missing required parameter(s): message")
        assert list(sdk.baremetal_introspection.introspection_rules()) == []

    def test_duplicate_rule(self, sdk: connection.Connection) -> None:
        """Creating the same uuid twice is a ConflictException (409)."""
        rule_id = str(uuidlib.uuid4())
        sdk.baremetal_introspection.create_introspection_rule(id=rule_id, conditions=CONDITIONS,
                                                              actions=ACTIONS)
        with pytest.raises(exceptions.ConflictException) as caught:
            sdk.baremetal_introspection.create_introspection_rule(
                id=rule_id, conditions=CONDITIONS, actions=ACTIONS)
        assert caught.value.details == f"Rule with UUID {rule_id} already exists"

    def test_rule_applied(self, sdk: connection.Connection, metalscope: LocalMetalScope,
                          ironic: LocalIronic, make_node: NodeFactory) -> None:
        """A rule created through the SDK acts on the next processed node."""
        rule_id = str(uuidlib.uuid4())
        sdk.baremetal_introspection.create_introspection_rule(id=rule_id, conditions=CONDITIONS,
                                                              actions=ACTIONS)
        box = machine(27)
        node = enroll(make_node, box)
        sdk.baremetal_introspection.start_introspection(node["uuid"], manage_boot=False)
        wait_waiting(sdk, node["uuid"])
        run_ramdisk(metalscope.url, box)
        sdk.baremetal_introspection.wait_for_introspection(node["uuid"], timeout=60)
        assert ironic.get_node(node["uuid"])["extra"]["sdk"] == "seen"
