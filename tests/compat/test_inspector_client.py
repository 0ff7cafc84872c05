"""python-ironic-inspector-client 5.4.0, unmodified, against a running MetalScope.

The client is built the way operators build it: ``ClientV1(inspector_url=..., session=...)``
with a keystoneauth session. On construction it probes ``GET /`` unauthenticated and then sends
``X-OpenStack-Ironic-Inspector-API-Version: 1.0`` unless told otherwise (ecosystem.md 5.1,
inspector.md 2.5). The ramdisk side is a plain ``POST /v1/continue`` of simulated IPA data.

The ``openstack baremetal introspection`` CLI plugin is not exercised: python-openstackclient
is not installed in the test environment.
"""

from __future__ import annotations

import functools
import json
import uuid as uuidlib
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

import httpx
import pytest
from ironic_inspector_client import ClientError, ClientV1, VersionNotSupported
from ironic_inspector_client.v1 import WaitTimeoutError
from keystoneauth1 import session as ks_session

from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope
from tests.compat.helpers import (
    NodeFactory,
    enroll,
    machine,
    post_ramdisk_data,
    run_ramdisk,
    state_is,
    wait_for,
)

pytestmark = pytest.mark.compat

T = TypeVar("T")

SUPPORTED = ((1, 0), (1, 20))
FAIL_RULE = {"conditions": [{"op": "eq", "field": "memory_mb", "value": 1024}],
             "actions": [{"action": "fail", "message": "boom"}]}


def client_for(url: str, session: ks_session.Session, **kwargs: Any) -> ClientV1:
    return ClientV1(inspector_url=url, session=session, **kwargs)


def wait_waiting(client: ClientV1, node_id: str) -> dict[str, Any]:
    return wait_for(state_is(client.get_status, node_id, "waiting", "error"), what="waiting")


def wait_finished(client: ClientV1, node_id: str) -> dict[str, Any]:
    result: dict[str, dict[str, Any]] = client.wait_for_finish([node_id], retry_interval=0.1,
                                                               max_retries=300)
    return result[node_id]


def when_unlocked(call: Callable[[], T]) -> T:
    """Make ``call`` (an abort or a reapply), trying again while the node lock is held by
    the background work of the previous one (409), as a client of upstream must."""
    def attempt() -> tuple[T] | None:
        try:
            return (call(),)
        except ClientError as exc:
            if exc.response.status_code != 409:
                raise
            return None
    return wait_for(attempt, what="the node lock")[0]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def power_state(ironic: LocalIronic, node_id: str, expected: str) -> str | None:
    """Fake power actions finish shortly after Ironic's 202; wait for ``expected``."""
    wait_for(lambda: ironic.get_node(node_id)["power_state"] == expected, timeout=10,
             what=f"power state {expected}")
    state: str | None = ironic.get_node(node_id)["power_state"]
    return state


class TestConstruction:
    def test_default_client_negotiates_from_root(self, inspector: ClientV1) -> None:
        """The unauthenticated probe of ``/`` sees MetalScope's 1.0-1.20 range."""
        assert inspector.server_api_versions() == SUPPORTED

    def test_versioned_url_is_probed_too(self, metalscope: LocalMetalScope,
                                         keystone_session: ks_session.Session) -> None:
        """An ``inspector_url`` ending in ``/v1`` is probed as is and keeps working."""
        client = client_for(metalscope.url + "/v1", keystone_session)
        assert client.server_api_versions() == SUPPORTED
        assert isinstance(client.list_statuses(), list)

    @pytest.mark.parametrize("api_version", [(1, 21), "2.0"])
    def test_version_above_range_refused(self, metalscope: LocalMetalScope,
                                         keystone_session: ks_session.Session,
                                         api_version: Any) -> None:
        """A version above 1.20 is refused by the client from the advertised range."""
        with pytest.raises(VersionNotSupported) as caught:
            client_for(metalscope.url, keystone_session, api_version=api_version)
        assert caught.value.supported_versions == SUPPORTED

    @pytest.mark.usefixtures("no_rules")
    @pytest.mark.parametrize(("api_version", "code"), [
        (None, 200), (1, 200), ((1, 5), 200), ((1, 6), 201), ((1, 13), 201), ("1.13", 201),
        ("1.18", 201)])
    def test_version_header_sent_and_honoured(self, metalscope: LocalMetalScope,
                                              keystone_session: ks_session.Session,
                                              api_version: Any, code: int) -> None:
        """Tuple, string and integer versions are accepted, and the version the client sends
        counts: rule creation answers 200 below API 1.6 (the default 1.0) and 201 from 1.6."""
        kwargs = {} if api_version is None else {"api_version": api_version}
        client = client_for(metalscope.url, keystone_session, **kwargs)
        response = client.request("post", "/rules", json=FAIL_RULE)
        assert response.status_code == code
        assert client.rules.get(response.json()["uuid"])["actions"] == FAIL_RULE["actions"]


class TestIntrospection:
    def test_managed_introspection(self, inspector: ClientV1, metalscope: LocalMetalScope,
                                   ironic: LocalIronic, make_node: NodeFactory) -> None:
        """Start without manage_boot powers the node on; the ramdisk's data finishes it."""
        box = machine(0)
        node = enroll(make_node, box)
        assert inspector.introspect(node["uuid"]) is None
        status = wait_waiting(inspector, node["uuid"])
        assert (status["state"], status["finished"], status["error"]) == ("waiting", False, None)
        assert status["finished_at"] is None and status["uuid"] == node["uuid"]
        assert status["links"] == [{"href": f"{metalscope.url}/v1/introspection/{node['uuid']}",
                                    "rel": "self"}]
        assert power_state(ironic, node["uuid"], "power on") == "power on"
        run_ramdisk(metalscope.url, box)
        final = wait_finished(inspector, node["uuid"])
        assert (final["state"], final["error"]) == ("finished", None)
        assert final["started_at"] == status["started_at"]
        assert parse_time(final["started_at"]) < parse_time(final["finished_at"])
        properties = ironic.get_node(node["uuid"])["properties"]
        assert properties["cpus"] == str(box.cpu.count)
        assert properties["memory_mb"] == str(box.memory_mb)
        assert power_state(ironic, node["uuid"], "power off") == "power off"

    def test_unmanaged_introspection_by_name(self, metalscope: LocalMetalScope,
                                            keystone_session: ks_session.Session,
                                            ironic: LocalIronic, make_node: NodeFactory) -> None:
        """manage_boot=False (sent as ``0``) with API 1.13 and a node name leaves power alone."""
        client = client_for(metalscope.url, keystone_session, api_version=(1, 13))
        box = machine(1)
        name = f"compat-by-name-{uuidlib.uuid4().hex[:8]}"
        node = enroll(make_node, box, name=name)
        client.introspect(name, manage_boot=False)
        assert wait_waiting(client, name)["uuid"] == node["uuid"]
        run_ramdisk(metalscope.url, box)
        assert wait_finished(client, name)["state"] == "finished"
        assert ironic.get_node(node["uuid"])["power_state"] is None

    def test_get_data(self, inspector: ClientV1, metalscope: LocalMetalScope,
                      keystone_session: ks_session.Session, make_node: NodeFactory) -> None:
        """Processed data (parsed and raw) and the unprocessed copy come back as stored."""
        box = machine(2)
        node = enroll(make_node, box)
        inspector.introspect(node["uuid"], manage_boot=False)
        wait_waiting(inspector, node["uuid"])
        posted = run_ramdisk(metalscope.url, box)
        wait_finished(inspector, node["uuid"])
        processed = inspector.get_data(node["uuid"])
        assert processed["inventory"] == posted["inventory"]
        assert "all_interfaces" in processed and "logs" not in processed
        raw = inspector.get_data(node["uuid"], raw=True)
        assert isinstance(raw, bytes) and json.loads(raw) == processed
        newer = client_for(metalscope.url, keystone_session, api_version=(1, 17))
        unprocessed = newer.get_data(node["uuid"], processed=False)
        assert unprocessed["inventory"] == posted["inventory"]
        assert "all_interfaces" not in unprocessed and "logs" not in unprocessed
        # Upstream gates nothing but rule creation's status code by version (inspector.md 2.2).
        assert inspector.get_data(node["uuid"], processed=False) == unprocessed

    def test_reprocess(self, inspector: ClientV1, metalscope: LocalMetalScope,
                       ironic: LocalIronic, make_node: NodeFactory) -> None:
        """reprocess answers 202 ``{}`` and re-runs processing on the stored data."""
        box = machine(10)
        node = enroll(make_node, box)
        inspector.introspect(node["uuid"], manage_boot=True)  # sent as manage_boot=1
        wait_waiting(inspector, node["uuid"])
        run_ramdisk(metalscope.url, box)
        first = wait_finished(inspector, node["uuid"])
        response = when_unlocked(lambda: inspector.reprocess(node["uuid"]))
        assert (response.status_code, response.text) == (202, "{}\n")
        again = wait_for(lambda: self._reapplied(inspector, node["uuid"], first["started_at"]),
                         what="reapply to finish")
        assert again["error"] is None and again["finished"] is True
        assert ironic.get_node(node["uuid"])["properties"]["cpus"] == str(box.cpu.count)

    @staticmethod
    def _reapplied(client: ClientV1, node_id: str, started_before: str) -> dict[str, Any] | None:
        status: dict[str, Any] = client.get_status(node_id)
        done = (status["state"] == "finished"
                and parse_time(status["started_at"]) > parse_time(started_before))
        return status if done else None

    def test_abort(self, inspector: ClientV1, metalscope: LocalMetalScope,
                   make_node: NodeFactory) -> None:
        """An aborted introspection ends with "Canceled by operator"; late data is refused."""
        box = machine(4)
        node = enroll(make_node, box)
        inspector.introspect(node["uuid"], manage_boot=False)
        wait_waiting(inspector, node["uuid"])
        with pytest.raises(WaitTimeoutError):
            inspector.wait_for_finish([node["uuid"]], retry_interval=0, max_retries=2)
        response = inspector.abort(node["uuid"])
        assert (response.status_code, response.text) == (202, "{}\n")
        status = wait_finished(inspector, node["uuid"])
        assert (status["state"], status["error"]) == ("error", "Canceled by operator")
        assert post_ramdisk_data(metalscope.url, ramdisk_data(box)).status_code == 400

    def test_edge_state_transitions(self, inspector: ClientV1, metalscope: LocalMetalScope,
                                    make_node: NodeFactory) -> None:
        """Back-to-back calls behave as upstream's functional test (13.2, 56-61). Abort and
        reapply are asynchronous, as upstream's: where that test reads the status at once
        (it passes upstream only on green threads, 13.3), this one polls."""
        box = machine(11)
        node_id = enroll(make_node, box)["uuid"]
        inspector.introspect(node_id, manage_boot=False)
        inspector.introspect(node_id, manage_boot=False)
        assert wait_waiting(inspector, node_id)["state"] == "waiting"
        inspector.abort(node_id)
        inspector.introspect(node_id, manage_boot=False)  # no wait: waits for the abort, restarts
        assert wait_waiting(inspector, node_id)["error"] is None
        inspector.abort(node_id)
        aborted = wait_finished(inspector, node_id)
        assert (aborted["finished"], aborted["state"], aborted["error"]) == (
            True, "error", "Canceled by operator")
        when_unlocked(lambda: inspector.abort(node_id))
        when_unlocked(lambda: inspector.abort(node_id))  # accepted: the second one has ended
        assert inspector.get_status(node_id) == aborted
        inspector.introspect(node_id, manage_boot=False)
        assert wait_waiting(inspector, node_id)["state"] == "waiting"
        run_ramdisk(metalscope.url, box)
        wait_finished(inspector, node_id)
        for _ in range(2):
            before = inspector.get_status(node_id)["started_at"]
            when_unlocked(lambda: inspector.reprocess(node_id))
            status = wait_for(functools.partial(self._reapplied, inspector, node_id, before),
                              what="reapply to finish")
            assert (status["finished"], status["state"], status["error"]) == (
                True, "finished", None)

    def test_list_statuses(self, inspector: ClientV1, make_node: NodeFactory) -> None:
        """The list is newest first and pages with marker and limit."""
        uuids = []
        for offset in (5, 6, 7):
            node = enroll(make_node, machine(offset))
            inspector.introspect(node["uuid"], manage_boot=False)
            wait_waiting(inspector, node["uuid"])
            uuids.append(node["uuid"])
        try:
            everything = inspector.list_statuses()
            listed = [status["uuid"] for status in everything]
            assert [u for u in listed if u in uuids] == uuids[::-1]
            keys = [(status["started_at"], status["uuid"]) for status in everything]
            assert keys == sorted(keys, reverse=True)
            assert inspector.list_statuses(limit=1) == everything[:1]
            middle = listed.index(uuids[1])
            page = inspector.list_statuses(marker=uuids[1], limit=1)
            assert page == everything[middle + 1:middle + 2]
            assert page[0]["uuid"] == uuids[0]
            for status in everything[:3]:
                # At the client's version (1.0): without one, the latest adds ``method``.
                link = httpx.get(status["links"][0]["href"], timeout=30,
                                 headers={"X-OpenStack-Ironic-Inspector-API-Version": "1.0"}
                                 ).json()
                assert link == inspector.get_status(status["uuid"])
        finally:
            for node_id in uuids:
                inspector.abort(node_id)


@pytest.mark.usefixtures("no_rules")
class TestRules:
    def test_rules_round_trip(self, inspector: ClientV1) -> None:
        """create, get, get_all, delete and delete_all behave as upstream's rules API test."""
        created = inspector.rules.create(FAIL_RULE["conditions"], FAIL_RULE["actions"],
                                         description="Cool actions")
        rule_id = created["uuid"]
        assert created["links"] == [{"href": f"/v1/rules/{rule_id}", "rel": "self"}]
        assert created["conditions"] == [{**FAIL_RULE["conditions"][0],
                                          "multiple": "any", "invert": False}]
        assert (created["description"], created["scope"]) == ("Cool actions", None)
        assert inspector.rules.get(rule_id) == created
        assert inspector.rules.get_all() == [{"uuid": rule_id, "description": "Cool actions",
                                              "scope": None, "links": created["links"]}]
        inspector.rules.delete(rule_id)
        assert inspector.rules.get_all() == []
        with pytest.raises(ClientError) as caught:
            inspector.rules.get(rule_id)
        assert (caught.value.response.status_code, str(caught.value)) == (
            404, f"Rule {rule_id} was not found")

    def test_from_json_and_delete_all(self, inspector: ClientV1) -> None:
        """from_json keeps a given uuid and scope; the list keeps creation order until purged."""
        given = str(uuidlib.uuid4())
        first = inspector.rules.from_json({**FAIL_RULE, "uuid": given, "scope": "rack-12"})
        assert (first["uuid"], first["scope"]) == (given, "rack-12")
        others = [inspector.rules.from_json(FAIL_RULE)["uuid"] for _ in range(2)]
        assert [rule["uuid"] for rule in inspector.rules.get_all()] == [given, *others]
        inspector.rules.delete_all()
        assert inspector.rules.get_all() == []

    def test_rule_applied_to_introspection(self, inspector: ClientV1,
                                           metalscope: LocalMetalScope, ironic: LocalIronic,
                                           make_node: NodeFactory) -> None:
        """A rule created at API 1.0 runs its set-attribute action when the node is processed."""
        box = machine(8)
        inspector.rules.create(
            [{"op": "eq", "field": "inventory.cpu.count", "value": box.cpu.count}],
            [{"action": "set-attribute", "path": "/extra/seen_by", "value": "compat"}])
        node = enroll(make_node, box)
        inspector.introspect(node["uuid"], manage_boot=False)
        wait_waiting(inspector, node["uuid"])
        run_ramdisk(metalscope.url, box)
        assert wait_finished(inspector, node["uuid"])["state"] == "finished"
        assert ironic.get_node(node["uuid"])["extra"]["seen_by"] == "compat"


class TestErrors:
    def test_unknown_node(self, inspector: ClientV1) -> None:
        """Status, abort and data of a node without a record are 404 with upstream's texts."""
        node_id = str(uuidlib.uuid4())
        calls = {inspector.get_status: f"Could not find node {node_id} in cache",
                 inspector.abort: f"Could not find node {node_id} in cache",
                 inspector.get_data: f"Introspection data not found for node {node_id}, "
                                     "processed=True"}
        for call, message in calls.items():
            with pytest.raises(ClientError) as caught:
                call(node_id)
            assert (caught.value.response.status_code, str(caught.value)) == (404, message)

    @pytest.mark.parametrize("node_id", [str(uuidlib.uuid4()), "no-such-node"])
    def test_introspect_node_not_in_ironic(self, inspector: ClientV1, node_id: str) -> None:
        """Starting a node Ironic does not know is 404 "Node <id> was not found in Ironic"."""
        with pytest.raises(ClientError) as caught:
            inspector.introspect(node_id)
        assert caught.value.response.status_code == 404
        assert str(caught.value) == f"Node {node_id} was not found in Ironic"

    def test_status_by_unknown_name(self, inspector: ClientV1) -> None:
        """A name that Ironic does not know is 404 "Node <name> was not found in Ironic"."""
        with pytest.raises(ClientError) as caught:
            inspector.get_status("no-such-node")
        assert (caught.value.response.status_code, str(caught.value)) == (
            404, "Node no-such-node was not found in Ironic")

    def test_wrong_provision_state(self, inspector: ClientV1, make_node: NodeFactory) -> None:
        """An ``available`` node cannot be introspected (400 naming the state)."""
        node = enroll(make_node, machine(9), provision_state="available")
        with pytest.raises(ClientError) as caught:
            inspector.introspect(node["uuid"])
        assert caught.value.response.status_code == 400
        assert str(caught.value).startswith(
            'Invalid provision state for introspection: "available", valid states are "')

    @pytest.mark.usefixtures("no_rules")
    @pytest.mark.parametrize(("rule", "message"), [
        ({"conditions": [{"op": "eq", "field": "memory_mb"}], "actions": FAIL_RULE["actions"]},
         "Invalid parameters for operator eq: missing required parameter(s): value"),
        ({"conditions": [{"op": "eq", "field": "foo://x", "value": 1}],
          "actions": FAIL_RULE["actions"]},
         "Unsupported scheme for field: foo, valid values are node:// or data://"),
        ({"conditions": [], "actions": [{"action": "fail"}]},
         "Invalid parameters for action fail: missing required parameter(s): message"),
        ({"conditions": [], "actions": [{"action": "fail", "message": "x"}], "uuid": "nope"},
         "Invalid UUID value"),
    ])
    def test_bad_rule(self, inspector: ClientV1, rule: dict[str, Any], message: str) -> None:
        """Invalid rules are 400 with upstream's validation message and nothing is stored."""
        with pytest.raises(ClientError) as caught:
            inspector.rules.from_json(rule)
        assert (caught.value.response.status_code, str(caught.value)) == (400, message)
        assert inspector.rules.get_all() == []

    @pytest.mark.usefixtures("no_rules")
    def test_rule_without_actions(self, inspector: ClientV1) -> None:
        """An empty action list fails JSON-schema validation of the actions (400)."""
        with pytest.raises(ClientError) as caught:
            inspector.rules.create(FAIL_RULE["conditions"], [])
        assert caught.value.response.status_code == 400
        assert str(caught.value).startswith("Validation failed for actions: ")

    @pytest.mark.usefixtures("no_rules")
    def test_duplicate_rule(self, inspector: ClientV1) -> None:
        """Creating a rule with an existing uuid is 409 "Rule with UUID <uuid> already exists"."""
        rule_id = str(uuidlib.uuid4())
        inspector.rules.create(FAIL_RULE["conditions"], FAIL_RULE["actions"], uuid=rule_id)
        with pytest.raises(ClientError) as caught:
            inspector.rules.create(FAIL_RULE["conditions"], FAIL_RULE["actions"], uuid=rule_id)
        assert (caught.value.response.status_code, str(caught.value)) == (
            409, f"Rule with UUID {rule_id} already exists")

    def test_delete_unknown_rule(self, inspector: ClientV1) -> None:
        """Deleting a rule that does not exist is 404 "Rule <uuid> was not found"."""
        rule_id = str(uuidlib.uuid4())
        with pytest.raises(ClientError) as caught:
            inspector.rules.delete(rule_id)
        assert (caught.value.response.status_code, str(caught.value)) == (
            404, f"Rule {rule_id} was not found")


class TestInterfaceData:
    @pytest.fixture
    def lldp_node(self, lldp_metalscope: LocalMetalScope, keystone_session: ks_session.Session,
                  make_node: NodeFactory) -> tuple[ClientV1, Any, str]:
        """A node introspected by the LLDP-enabled MetalScope with switch-cabled NICs."""
        client = client_for(lldp_metalscope.url, keystone_session)
        box = machine(3)  # the PXE NIC hears a switch on VLAN 100, another NIC on 206 and 300
        node = enroll(make_node, box)
        client.introspect(node["uuid"], manage_boot=False)
        wait_waiting(client, node["uuid"])
        run_ramdisk(lldp_metalscope.url, box)
        assert wait_finished(client, node["uuid"])["state"] == "finished"
        return client, box, node["uuid"]

    def test_get_interface_data(self, lldp_node: tuple[ClientV1, Any, str]) -> None:
        """Per-interface LLDP facts come from lldp_basic's ``lldp_processed``."""
        client, box, node_id = lldp_node
        fields = ["node_ident", "interface", "mac", "switch_chassis_id", "switch_port_id",
                  "switch_system_name", "switch_port_vlan_ids"]
        cabled = [nic for nic in box.nics if nic.switch is not None]
        assert cabled, "the chosen machine must have LLDP neighbours"
        for nic in cabled:
            row = client.get_interface_data(node_id, nic.name, fields)
            assert dict(row) == {
                "node_ident": node_id, "interface": nic.name, "mac": nic.mac_address,
                "switch_chassis_id": nic.switch.chassis_mac,
                "switch_port_id": nic.switch.port_id,
                "switch_system_name": nic.switch.system_name,
                "switch_port_vlan_ids": [vid for vid, _ in nic.switch.vlans]}
        with pytest.raises(ValueError):
            client.get_interface_data(node_id, "no-such-nic", fields)

    def test_get_all_interface_data(self, lldp_node: tuple[ClientV1, Any, str]) -> None:
        """All interfaces are listed, and a VLAN filter keeps only NICs on that VLAN."""
        client, box, node_id = lldp_node
        fields = ["interface", "mac", "switch_port_vlan_ids"]
        rows = client.get_all_interface_data(node_id, fields)
        by_name = {row[0]: row for row in rows}
        for nic in box.nics:
            if nic.switch is not None:
                assert by_name[nic.name][1:] == [nic.mac_address,
                                                 [vid for vid, _ in nic.switch.vlans]]
        vlan = 300
        filtered = client.get_all_interface_data(node_id, fields, vlan=[vlan])
        expected = sorted(nic.name for nic in box.nics
                          if nic.switch and vlan in [vid for vid, _ in nic.switch.vlans])
        assert sorted(row[0] for row in filtered) == expected
