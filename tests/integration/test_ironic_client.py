"""IronicClient against a real Ironic (fake hardware): every method, errors and paging."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from metalscope.errors import IronicError, NodeNotInIronic
from metalscope.ironic_client import MAX_API_VERSION, IronicClient, parse_version
from metalscope.settings import Settings
from metalscope.testing.ironic import LocalIronic

pytestmark = pytest.mark.integration

NodeFactory = Callable[..., dict[str, Any]]


@pytest.fixture
async def paged_client(ironic_settings: Settings) -> AsyncIterator[IronicClient]:
    """A client asking for pages of two items, so that paging is exercised."""
    client = IronicClient.from_settings(ironic_settings, page_size=2)
    yield client
    await client.aclose()


async def wait_for_power(client: IronicClient, uuid: str, expected: str) -> dict[str, Any]:
    """Power actions finish in the background (202); poll until the node shows the result."""
    for _ in range(100):
        node = await client.get_node(uuid, fields=["power_state", "target_power_state"])
        if node["power_state"] == expected and node["target_power_state"] is None:
            return node
        await asyncio.sleep(0.05)
    raise AssertionError(f"node {uuid} never reached {expected}: {node}")


class TestNodes:
    async def test_get_node_by_uuid_and_name(self, ironic_client: IronicClient,
                                             make_node: NodeFactory) -> None:
        node = make_node(name="client-get", driver_info={"ipmi_address": "192.0.2.1"})
        by_name = await ironic_client.get_node("client-get")
        by_uuid = await ironic_client.get_node(node["uuid"], fields=["uuid", "provision_state"])
        assert by_name["uuid"] == node["uuid"]
        assert by_name["driver_info"] == {"ipmi_address": "192.0.2.1"}
        assert {k: by_uuid[k] for k in ("uuid", "provision_state")} == {
            "uuid": node["uuid"], "provision_state": "manageable"}
        assert "driver_info" not in by_uuid

    async def test_negotiated_version(self, ironic: LocalIronic,
                                      ironic_client: IronicClient) -> None:
        """min(Ironic's maximum, 1.109), found with one extra request on first use."""
        with pytest.raises(NodeNotInIronic):
            await ironic_client.get_node("no-such-node")
        assert ironic.api_version is not None
        expected = min(parse_version(ironic.api_version), MAX_API_VERSION)
        assert ironic_client.api_version == f"{expected[0]}.{expected[1]}"
        assert ironic_client.calls == 2

    async def test_unknown_node(self, ironic_client: IronicClient) -> None:
        with pytest.raises(NodeNotInIronic) as caught:
            await ironic_client.get_node("9b7a3f52-4f0e-4a0a-9a55-f7e7c5d7a6a1")
        assert caught.value.message == ("Node 9b7a3f52-4f0e-4a0a-9a55-f7e7c5d7a6a1 "
                                        "was not found in Ironic")

    async def test_invalid_field(self, ironic_client: IronicClient, make_node: NodeFactory) -> None:
        node = make_node()
        with pytest.raises(IronicError) as caught:
            await ironic_client.get_node(node["uuid"], fields=["bogus"])
        assert caught.value.status == 400
        assert caught.value.message == (f"Cannot get node {node['uuid']}: "
                                        "Field bogus is not a valid field.")

    async def test_validate(self, ironic_client: IronicClient, make_node: NodeFactory) -> None:
        result = await ironic_client.validate_node(make_node()["uuid"])
        assert result["power"]["result"] is True
        assert result["management"]["result"] is True

    async def test_list_nodes_pages(self, paged_client: IronicClient,
                                    make_node: NodeFactory) -> None:
        made = {make_node(driver_info={"redfish_address": f"https://192.0.2.{i}"})["uuid"]
                for i in range(5)}
        listed = await paged_client.list_nodes(fields=["uuid", "driver_info"])
        detailed = await paged_client.list_nodes()
        by_uuid = {n["uuid"]: n for n in listed}
        assert made <= set(by_uuid)
        assert len(by_uuid) == len(listed)  # no page returned twice
        assert {by_uuid[u]["driver_info"]["redfish_address"] for u in made} == {
            f"https://192.0.2.{i}" for i in range(5)}
        assert made <= {n["uuid"] for n in detailed}
        assert all("provision_state" in n for n in detailed)
        assert paged_client.calls >= 1 + 2 * 3  # version discovery, then at least 3 pages each

    async def test_create_node_starts_in_enroll(self, ironic: LocalIronic,
                                                ironic_client: IronicClient) -> None:
        node = await ironic_client.create_node(driver="fake-hardware", name="client-created",
                                               driver_info={"ipmi_address": "192.0.2.50"})
        try:
            assert node["provision_state"] == "enroll"
            assert node["driver_info"] == {"ipmi_address": "192.0.2.50"}
            assert (await ironic_client.get_node("client-created"))["uuid"] == node["uuid"]
        finally:
            ironic.delete_node(node["uuid"])

    async def test_patch_node(self, ironic_client: IronicClient, make_node: NodeFactory) -> None:
        node = make_node(properties={"cpus": 2})
        patched = await ironic_client.patch_node(node["uuid"], [
            {"op": "add", "path": "/properties/memory_mb", "value": 4096},
            {"op": "replace", "path": "/properties/cpus", "value": 8},
            {"op": "add", "path": "/extra/rack", "value": "r1"}])
        assert patched["properties"] == {"cpus": 8, "memory_mb": 4096}
        assert (await ironic_client.get_node(node["uuid"]))["extra"] == {"rack": "r1"}

    async def test_reset_interfaces(self, ironic_client: IronicClient,
                                    make_node: NodeFactory) -> None:
        """Accepted with a driver change (even to the same driver), refused without one."""
        uuid = make_node()["uuid"]
        driver = [{"op": "replace", "path": "/driver", "value": "fake-hardware"}]
        patched = await ironic_client.patch_node(uuid, driver, reset_interfaces=True)
        assert patched["driver"] == "fake-hardware"
        assert patched["power_interface"] == "fake"
        with pytest.raises(IronicError) as caught:
            await ironic_client.patch_node(
                uuid, [{"op": "add", "path": "/extra/a", "value": "b"}], reset_interfaces=True)
        assert caught.value.status == 400
        assert "reset_interfaces" in caught.value.message

    async def test_traits(self, ironic_client: IronicClient, make_node: NodeFactory) -> None:
        uuid = make_node()["uuid"]
        await ironic_client.add_trait(uuid, "CUSTOM_GPU")
        await ironic_client.add_trait(uuid, "CUSTOM_NVME")
        await ironic_client.add_trait(uuid, "CUSTOM_GPU")  # adding twice is harmless
        await ironic_client.remove_trait(uuid, "CUSTOM_NVME")
        await ironic_client.remove_trait(uuid, "CUSTOM_NEVER_ADDED")
        assert (await ironic_client.get_node(uuid, fields=["traits"]))["traits"] == ["CUSTOM_GPU"]

    async def test_power_and_boot_device(self, ironic_client: IronicClient,
                                         make_node: NodeFactory) -> None:
        """fake-hardware accepts only ``pxe`` and does not remember persistence."""
        uuid = make_node()["uuid"]
        await ironic_client.set_boot_device(uuid, "pxe", persistent=True)
        with pytest.raises(IronicError) as caught:
            await ironic_client.set_boot_device(uuid, "disk")
        assert (caught.value.status, caught.value.message) == (
            400, "Invalid boot device disk specified.")
        await ironic_client.set_power_state(uuid, "rebooting")
        assert (await wait_for_power(ironic_client, uuid, "power on"))["power_state"] == "power on"
        await ironic_client.set_power_state(uuid, "power off")
        await wait_for_power(ironic_client, uuid, "power off")

    async def test_concurrent_power_requests_survive_node_locks(
            self, ironic_client: IronicClient, make_node: NodeFactory) -> None:
        """Ironic answers 409 NodeLocked to some of these; the client retries them."""
        uuid = make_node()["uuid"]
        results = await asyncio.gather(
            *(ironic_client.set_power_state(uuid, "rebooting") for _ in range(5)),
            return_exceptions=True)
        assert results == [None] * 5
        await wait_for_power(ironic_client, uuid, "power on")

    async def test_power_on_unknown_node(self, ironic_client: IronicClient) -> None:
        with pytest.raises(IronicError) as caught:
            await ironic_client.set_power_state("no-such-node", "power off")
        assert caught.value.status == 404
        assert caught.value.message == "Node no-such-node could not be found."


class TestPorts:
    async def test_node_ports_pages_keep_the_node_filter(
            self, ironic: LocalIronic, paged_client: IronicClient,
            make_node: NodeFactory) -> None:
        """Ironic's next link drops ``node=``; other nodes' ports must not leak in."""
        node = make_node(port_count=5)
        make_node(port_count=3)
        ports = await paged_client.list_node_ports(node["uuid"])
        expected = {p["address"] for p in ironic.list_ports(node["uuid"])}
        assert {p["address"] for p in ports} == expected and len(ports) == 5
        assert {p["node_uuid"] for p in ports} == {node["uuid"]}
        assert all("pxe_enabled" in p and "physical_network" in p for p in ports)
        assert paged_client.calls == 1 + 3  # version discovery, then pages of 2, 2 and 1

    async def test_all_ports(self, ironic: LocalIronic, paged_client: IronicClient,
                             make_node: NodeFactory) -> None:
        nodes = [make_node(port_count=2) for _ in range(3)]
        slim = await paged_client.list_ports(fields=["address", "extra"])
        full = await paged_client.list_ports()
        wanted = {p["address"] for n in nodes for p in ironic.list_ports(n["uuid"])}
        assert wanted <= {p["address"] for p in slim}
        assert all(set(p) <= {"address", "extra", "links"} for p in slim)
        assert wanted <= {p["address"] for p in full}
        assert all("node_uuid" in p for p in full)

    async def test_find_by_address(self, ironic_client: IronicClient,
                                   make_node: NodeFactory) -> None:
        node = make_node(macs=["02:aa:bb:cc:dd:01"])
        found = await ironic_client.find_ports_by_address("02:aa:bb:cc:dd:01")
        assert [p["node_uuid"] for p in found] == [node["uuid"]]
        assert await ironic_client.find_ports_by_address("02:aa:bb:cc:dd:99") == []

    async def test_create_patch_delete(self, ironic: LocalIronic, ironic_client: IronicClient,
                                       make_node: NodeFactory,
                                       mac_factory: Any) -> None:
        node = make_node(macs=[])
        mac = mac_factory()
        port = await ironic_client.create_port(node["uuid"], mac, {"client-id": "ff:00"},
                                               pxe_enabled=False)
        assert (port["address"], port["extra"], port["pxe_enabled"]) == (
            mac, {"client-id": "ff:00"}, False)
        patched = await ironic_client.patch_port(port["uuid"], [
            {"op": "add", "path": "/physical_network", "value": "physnet1"},
            {"op": "add", "path": "/local_link_connection",
             "value": {"switch_id": "aa:bb:cc:dd:ee:ff", "port_id": "Eth1/1"}},
            {"op": "replace", "path": "/pxe_enabled", "value": True}])
        assert patched["physical_network"] == "physnet1"
        assert patched["local_link_connection"]["port_id"] == "Eth1/1"
        assert patched["pxe_enabled"] is True
        await ironic_client.delete_port(port["uuid"])
        assert ironic.list_ports(node["uuid"]) == []

    async def test_duplicate_mac_is_a_conflict(self, ironic_client: IronicClient,
                                               make_node: NodeFactory) -> None:
        """A MAC already used by another node: 409 at once, not retried like a lock."""
        taken = make_node(macs=["02:aa:bb:cc:dd:02"])
        other = make_node(macs=[])
        calls_before = ironic_client.calls
        with pytest.raises(IronicError) as caught:
            await ironic_client.create_port(other["uuid"], "02:aa:bb:cc:dd:02", {}, True)
        assert caught.value.status == 409
        assert "02:aa:bb:cc:dd:02" in caught.value.message
        assert "already exists" in caught.value.message
        assert ironic_client.calls - calls_before <= 2  # the POST (plus version discovery)
        assert taken["uuid"] != other["uuid"]

    async def test_delete_unknown_port(self, ironic_client: IronicClient) -> None:
        with pytest.raises(IronicError) as caught:
            await ironic_client.delete_port("5a0f3c52-0000-4000-8000-000000000000")
        assert caught.value.status == 404


class TestLocalIronic:
    def test_enrolled_node(self, ironic: LocalIronic, make_node: NodeFactory) -> None:
        """fake-hardware keeps arbitrary driver_info keys, so BMC addresses can be recorded."""
        info = {"ipmi_address": "192.0.2.10", "redfish_address": "https://192.0.2.11",
                "anything": "kept"}
        node = make_node(driver_info=info, macs=["02:aa:bb:cc:dd:03", "02:aa:bb:cc:dd:04"],
                         properties={"cpu_arch": "x86_64"})
        assert node["driver"] == "fake-hardware"
        assert node["driver_info"] == info
        assert node["properties"] == {"cpu_arch": "x86_64"}
        assert node["provision_state"] == "manageable"
        assert sorted(p["address"] for p in ironic.list_ports(node["uuid"])) == [
            "02:aa:bb:cc:dd:03", "02:aa:bb:cc:dd:04"]

    @pytest.mark.parametrize("state", ["enroll", "available", "active"])
    def test_other_states(self, ironic: LocalIronic, make_node: NodeFactory, state: str) -> None:
        node = make_node(provision_state=state)
        assert ironic.get_node(node["uuid"])["provision_state"] == state

    def test_delete_node(self, ironic: LocalIronic) -> None:
        node = ironic.enroll_node(None, {}, ["02:aa:bb:cc:dd:05"], provision_state="active")
        ironic.delete_node(node["uuid"])
        ironic.delete_node(node["uuid"])  # already gone: fine
        with pytest.raises(RuntimeError, match="404"):
            ironic.get_node(node["uuid"])
