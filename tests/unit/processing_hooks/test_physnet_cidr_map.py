"""The physnet_cidr_map hook (spec 5.4)."""

from __future__ import annotations

import ipaddress
import logging
from typing import Any

import pytest

from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.physnet_cidr_map import (
    PhysnetCidrMapHook,
    parse_cidr_map,
    physnet_for,
)
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from tests.factories import PXE_MAC, ironic_port, node_changes, ramdisk_data, settings

IB_MAC = "7c:fe:90:29:2a:61"


def preprocessed(data: dict[str, Any]) -> dict[str, Any]:
    ValidateInterfacesHook(settings()).before_processing(data)
    return data


def run(cidr_map: list[str], node: NodeChanges, data: dict[str, Any] | None = None,
        **processing: Any) -> NodeChanges:
    hook = PhysnetCidrMapHook(settings(port_physnet={"cidr_map": cidr_map},
                                       processing=processing))
    hook.before_update(data or preprocessed(ramdisk_data()), node)
    return node


class TestParseCidrMap:
    def test_ipv4_and_ipv6(self) -> None:
        """Entries split on the last colon, so IPv6 networks work."""
        assert parse_cidr_map(["10.10.10.0/24:physnet_a", " 2001:db8::/64:physnet_b"]) == [
            (ipaddress.ip_network("10.10.10.0/24"), "physnet_a"),
            (ipaddress.ip_network("2001:db8::/64"), "physnet_b")]

    @pytest.mark.parametrize("entry", ["garbage", "10.0.0.0/33:x", "10.0.0.0/8:", ":physnet"])
    def test_invalid_entries_ignored(self, entry: str, caplog: pytest.LogCaptureFixture) -> None:
        """Invalid entries are logged and left out."""
        with caplog.at_level(logging.ERROR):
            assert parse_cidr_map([entry, "10.0.0.0/8:ok"]) == [
                (ipaddress.ip_network("10.0.0.0/8"), "ok")]
        assert caplog.records


class TestBeforeUpdate:
    def test_sets_physnet(self) -> None:
        """The port of an interface inside a mapped CIDR gets its physnet."""
        node = run(["192.0.2.0/24:physnet_a"], node_changes([ironic_port(PXE_MAC)]))
        assert node.pending.ports_patched == {f"port-{PXE_MAC}": [
            {"op": "add", "path": "/physical_network", "value": "physnet_a"}]}

    def test_first_matching_cidr_wins(self) -> None:
        """With overlapping networks the first configured one decides."""
        node = run(["192.0.2.0/24:narrow", "192.0.0.0/16:wide"],
                   node_changes([ironic_port(PXE_MAC)]))
        assert node.ports[PXE_MAC]["physical_network"] == "narrow"

    def test_each_port_separately(self) -> None:
        """Every interface with a port is mapped on its own address."""
        node = run(["192.0.2.0/24:a", "198.51.100.0/24:b"],
                   node_changes([ironic_port(PXE_MAC), ironic_port(IB_MAC)]))
        assert node.ports[PXE_MAC]["physical_network"] == "a"
        assert node.ports[IB_MAC]["physical_network"] == "b"

    def test_ipv4_hides_ipv6_quirk(self) -> None:
        """Q-HOOK-3: an unmapped IPv4 address stops the IPv6 address from being tried."""
        node = run(["fe80::/64:link_local"], node_changes([ironic_port(PXE_MAC)]))
        assert node.pending.is_empty()

    def test_ipv6_only_interface(self) -> None:
        """An interface with only an IPv6 address is mapped on it (scope removed)."""
        data = preprocessed(ramdisk_data())
        data["inventory"]["interfaces"][0]["ipv4_address"] = None
        node = run(["fe80::/64:link_local"], node_changes([ironic_port(PXE_MAC)]), data)
        assert node.ports[PXE_MAC]["physical_network"] == "link_local"

    def test_not_without_overwrite_existing(self) -> None:
        """With overwrite_existing off nothing is set, even on a port without a physnet."""
        node = run(["192.0.2.0/24:physnet_a"], node_changes([ironic_port(PXE_MAC)]),
                   overwrite_existing=False)
        assert node.pending.is_empty()

    def test_same_physnet_no_patch(self) -> None:
        """A port already on the right physnet is not patched."""
        port = ironic_port(PXE_MAC, physical_network="physnet_a")
        assert run(["192.0.2.0/24:physnet_a"], node_changes([port])).pending.is_empty()

    def test_no_match_no_patch(self) -> None:
        """An address outside every network changes nothing."""
        assert run(["10.0.0.0/8:x"], node_changes([ironic_port(PXE_MAC)])).pending.is_empty()

    def test_interface_outside_all_interfaces(self) -> None:
        """Interfaces validate_interfaces rejected are skipped even with a port."""
        data = preprocessed(ramdisk_data())
        del data["all_interfaces"]["eno1"]
        node = run(["192.0.2.0/24:physnet_a"], node_changes([ironic_port(PXE_MAC)]), data)
        assert node.pending.is_empty()


@pytest.mark.parametrize(("iface", "expected"), [
    ({"ipv4_address": "not-an-ip", "ipv6_address": "2001:db8::1"}, "v6"),
    ({"ipv4_address": None, "ipv6_address": None}, None),
    ({"ipv4_address": "10.1.2.3"}, "v4"),
])
def test_physnet_for(iface: dict[str, Any], expected: str | None) -> None:
    """The first address that parses is the one looked up."""
    cidr_map = parse_cidr_map(["10.0.0.0/8:v4", "2001:db8::/32:v6"])
    assert physnet_for(iface, cidr_map) == expected
