"""The validate_interfaces hook (spec 5.4, 4.2)."""

import logging
from typing import Any

import pytest

from metalscope.errors import ConfigurationError, HookError
from metalscope.node_changes import NodeChanges, PortCreate
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from tests.factories import (
    IB_CLIENT_ID,
    PXE_MAC,
    functional_ramdisk_data,
    inventory,
    ironic_port,
    node_changes,
    ramdisk_data,
    settings,
)

FUNCTIONAL_IB_CLIENT_ID = "ff:00:00:00:00:00:02:00:00:02:c9:00:7c:fe:90:03:00:29:26:52"

SPEC_ALL_INTERFACES: dict[str, dict[str, Any]] = {
    "eno1": {"ip": "192.0.2.41", "mac": PXE_MAC, "client_id": None, "pxe": True},
    "eno2": {"ip": None, "mac": "3c:fd:fe:aa:00:02", "client_id": None, "pxe": False},
    "ib0": {"ip": "198.51.100.17", "mac": "7c:fe:90:29:2a:61", "client_id": IB_CLIENT_ID,
            "pxe": False},
}


def hook(**processing: Any) -> ValidateInterfacesHook:
    return ValidateInterfacesHook(settings(processing=processing))


def preprocessed(data: dict[str, Any], **processing: Any) -> dict[str, Any]:
    hook(**processing).before_processing(data)
    return data


def run(data: dict[str, Any], node: NodeChanges, **processing: Any) -> NodeChanges:
    validate = hook(**processing)
    validate.before_processing(data)
    validate.before_update(data, node)
    return node


def interface(name: str, mac: Any, ipv4: str | None = "192.0.2.9", **fields: Any) -> dict[str, Any]:
    return {"name": name, "mac_address": mac, "ipv4_address": ipv4, "ipv6_address": None,
            "client_id": None, **fields}


def with_interfaces(*interfaces: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return ramdisk_data(inventory=inventory(interfaces=list(interfaces)), **overrides)


class TestConstructor:
    def test_disabled_with_added_refused(self) -> None:
        """add_ports=disabled with keep_ports=added is a configuration error."""
        with pytest.raises(ConfigurationError) as exc:
            hook(add_ports="disabled", keep_ports="added")
        assert str(exc.value) == ("Configuration error: add_ports set to disabled and keep_ports "
                                  "set to added. Please change keep_ports to all.")

    @pytest.mark.parametrize("keep_ports", ["all", "present"])
    def test_disabled_with_other_keep_ports(self, keep_ports: str) -> None:
        """add_ports=disabled is fine with the other keep_ports values."""
        hook(add_ports="disabled", keep_ports=keep_ports)


class TestBeforeProcessing:
    def test_spec_example(self) -> None:
        """The spec 6.3 data gives the documented interfaces, MACs and BMC keys."""
        data = preprocessed(ramdisk_data())
        assert data["all_interfaces"] == SPEC_ALL_INTERFACES
        assert data["interfaces"] == {"eno1": SPEC_ALL_INTERFACES["eno1"]}
        assert data["macs"] == [PXE_MAC]
        assert data["ipmi_address"] == "192.0.2.200"
        assert data["ipmi_v6address"] is None

    def test_functional_bmc_keys(self) -> None:
        """Both BMC addresses of the functional-test data are kept."""
        data = preprocessed(functional_ramdisk_data())
        assert data["ipmi_address"] == "1.2.3.4"
        assert data["ipmi_v6address"] == "2001:1234:1234:1234:1234:1234:1234:1234/64"

    def test_legacy_bmc_keys(self) -> None:
        """Without inventory BMC keys the legacy top-level ones are used."""
        data = ramdisk_data(ipmi_address="192.0.2.7", ipmi_v6address="fd00::7")
        del data["inventory"]["bmc_address"], data["inventory"]["bmc_v6address"]
        preprocessed(data)
        assert (data["ipmi_address"], data["ipmi_v6address"]) == ("192.0.2.7", "fd00::7")

    def test_unknown_bmc_overwrites_posted(self) -> None:
        """An unknown inventory BMC address nulls whatever was posted at top level."""
        data = preprocessed(ramdisk_data(inventory=inventory(bmc_address="0.0.0.0"),
                                         ipmi_address="192.0.2.7"))
        assert data["ipmi_address"] is None

    def test_ipv6_scope_removed(self) -> None:
        """Without IPv4 the IPv6 address is used, minus its %scope."""
        data = preprocessed(with_interfaces(
            interface("eth0", "aa:bb:cc:dd:ee:01", None, ipv6_address="fe80::1%eth0"),
            boot_interface="aa:bb:cc:dd:ee:01"))
        assert data["all_interfaces"]["eth0"]["ip"] == "fe80::1"

    def test_upper_case_macs_lowered(self) -> None:
        """MACs, including a colon-form boot_interface, are compared lower-cased (Q-HOOK-1)."""
        data = preprocessed(with_interfaces(interface("eth0", "AA:BB:CC:DD:EE:01"),
                                            boot_interface="AA:BB:CC:DD:EE:01"))
        assert data["all_interfaces"]["eth0"]["mac"] == "aa:bb:cc:dd:ee:01"
        assert data["all_interfaces"]["eth0"]["pxe"] is True

    def test_invalid_interfaces_skipped(self, caplog: pytest.LogCaptureFixture) -> None:
        """Interfaces without a name, without a MAC or with an invalid MAC are skipped."""
        data = with_interfaces(interface("", "aa:bb:cc:dd:ee:01"), interface("eth1", None),
                               interface("eth2", "not-a-mac"),
                               interface("eth3", "aa:bb:cc:dd:ee:03"),
                               boot_interface=None)
        with caplog.at_level(logging.DEBUG):
            preprocessed(data)
        assert list(data["all_interfaces"]) == ["eth3"]

    @pytest.mark.parametrize("add_ports,expected", [
        ("pxe", ["eno1"]), ("active", ["eno1", "ib0"]), ("disabled", ["eno1", "ib0"]),
        ("all", ["eno1", "eno2", "ib0"]),
    ])
    def test_add_ports_selection(self, add_ports: str, expected: list[str]) -> None:
        """add_ports decides which interfaces are selected for ports."""
        data = preprocessed(ramdisk_data(), add_ports=add_ports, keep_ports="all")
        assert list(data["interfaces"]) == expected
        assert data["macs"] == [SPEC_ALL_INTERFACES[name]["mac"] for name in expected]
        assert data["all_interfaces"] == SPEC_ALL_INTERFACES

    def test_pxe_without_boot_interface(self, caplog: pytest.LogCaptureFixture) -> None:
        """With no PXE MAC known, add_ports=pxe behaves like active and warns."""
        with caplog.at_level(logging.WARNING):
            data = preprocessed(ramdisk_data(boot_interface=None))
        assert list(data["interfaces"]) == ["eno1", "ib0"]
        assert caplog.records

    def test_pxe_nic_needs_an_ip(self) -> None:
        """With add_ports=pxe a PXE NIC without IP is not selected."""
        data = with_interfaces(interface("eth0", "aa:bb:cc:dd:ee:01", None),
                               interface("eth1", "aa:bb:cc:dd:ee:02"),
                               boot_interface="01-aa-bb-cc-dd-ee-01")
        with pytest.raises(HookError, match=r"^No suitable interfaces found in "):
            preprocessed(data)

    @pytest.mark.parametrize("add_ports", ["pxe", "active"])
    def test_out_of_band_data_needs_no_ip(self, add_ports: str) -> None:
        """A BMC does not know the host's addresses: out-of-band interfaces are selected
        without one, the other rules unchanged (pxe: the PXE NIC only)."""
        data = preprocessed(with_interfaces(interface("eth0", "aa:bb:cc:dd:ee:01", None),
                                            interface("eth1", "aa:bb:cc:dd:ee:02", None),
                                            boot_interface="01-aa-bb-cc-dd-ee-01",
                                            inspection_method="redfish"),
                            add_ports=add_ports)
        assert list(data["interfaces"]) == (["eth0"] if add_ports == "pxe" else ["eth0", "eth1"])

    def test_loopback_never_selected(self) -> None:
        """lo and loopback addresses are never selected, even with add_ports=all."""
        data = preprocessed(with_interfaces(
            interface("lo", "00:00:00:00:00:01", "10.0.0.1"),
            interface("eth0", "aa:bb:cc:dd:ee:01", "127.0.0.2"),
            interface("eth1", "aa:bb:cc:dd:ee:02", None)), add_ports="all")
        assert list(data["interfaces"]) == ["eth1"]
        assert list(data["all_interfaces"]) == ["lo", "eth0", "eth1"]

    def test_no_interfaces_supplied(self) -> None:
        """No interface with a valid MAC fails with the upstream message."""
        with pytest.raises(HookError) as exc:
            preprocessed(with_interfaces(interface("eth0", None)))
        assert str(exc.value) == "No interfaces supplied by the ramdisk"

    def test_no_suitable_interfaces(self) -> None:
        """An empty selection fails naming all_interfaces in Python repr form."""
        with pytest.raises(HookError) as exc:
            preprocessed(with_interfaces(interface("eth0", "aa:bb:cc:dd:ee:01", None)),
                         add_ports="active")
        assert str(exc.value) == (
            "No suitable interfaces found in {'eth0': {'ip': None, "
            "'mac': 'aa:bb:cc:dd:ee:01', 'client_id': None, 'pxe': False}}")

    def test_no_network_interfaces(self) -> None:
        """The common inventory check applies."""
        with pytest.raises(HookError) as exc:
            preprocessed(with_interfaces())
        assert str(exc.value) == "No network interfaces provided in the inventory"


class TestPortCreation:
    def test_spec_example(self) -> None:
        """The spec 6.3 data creates one PXE-enabled port for the PXE NIC."""
        node = run(ramdisk_data(), node_changes())
        assert node.pending.ports_created == [PortCreate(PXE_MAC, {}, True)]
        assert not node.pending.ports_deleted and not node.pending.ports_patched

    def test_functional_bmc(self) -> None:
        """The functional-test data creates exactly the PXE port (spec 13.1 case 6)."""
        node = run(functional_ramdisk_data(), node_changes())
        assert node.pending.ports_created == [PortCreate("11:22:33:44:55:66", {}, True)]

    def test_infiniband_client_id(self) -> None:
        """An InfiniBand NIC's port carries its client id in extra."""
        node = run(ramdisk_data(), node_changes(), add_ports="active")
        assert node.pending.ports_created == [
            PortCreate(PXE_MAC, {}, True),
            PortCreate("7c:fe:90:29:2a:61", {"client-id": IB_CLIENT_ID}, False)]

    def test_add_ports_all(self) -> None:
        """add_ports=all also creates ports for NICs without an IP."""
        node = run(ramdisk_data(), node_changes(), add_ports="all")
        assert [p.address for p in node.pending.ports_created] == [
            PXE_MAC, "3c:fd:fe:aa:00:02", "7c:fe:90:29:2a:61"]

    def test_add_ports_disabled(self) -> None:
        """add_ports=disabled creates no port."""
        node = run(ramdisk_data(), node_changes(), add_ports="disabled")
        assert node.pending.is_empty()

    def test_existing_port_not_recreated(self, caplog: pytest.LogCaptureFixture) -> None:
        """A selected MAC that already has a port is only logged."""
        node = node_changes([ironic_port(PXE_MAC.upper())])
        with caplog.at_level(logging.WARNING):
            run(ramdisk_data(), node)
        assert node.pending.is_empty()
        assert caplog.records

    def test_update_pxe_enabled_false(self) -> None:
        """Without update_pxe_enabled new ports are always PXE-enabled."""
        node = run(ramdisk_data(), node_changes(), add_ports="active", update_pxe_enabled=False)
        assert [p.pxe_enabled for p in node.pending.ports_created] == [True, True]


class TestExistingPorts:
    def test_functional_creation_update_and_deletion(self) -> None:
        """Spec 13.1 cases 11-12: two ports created, foobar deleted, eth3 PXE flag fixed."""
        eth3 = ironic_port("66:55:44:33:22:11", uuid="eth3-port", pxe_enabled=True)
        node = node_changes([eth3, ironic_port("foobar", uuid="foobar-port")])
        run(functional_ramdisk_data(), node, add_ports="active", keep_ports="added")
        assert node.pending.ports_created == [
            PortCreate("11:22:33:44:55:66", {}, True),
            PortCreate("7c:fe:90:29:26:52", {"client-id": FUNCTIONAL_IB_CLIENT_ID}, False)]
        assert node.pending.ports_deleted == ["foobar-port"]
        assert node.pending.ports_patched == {
            "eth3-port": [{"op": "replace", "path": "/pxe_enabled", "value": False}]}

    def test_functional_not_update_pxe_enabled(self) -> None:
        """Spec 13.1 cases 15-16: the IB port is PXE-enabled and no port is patched."""
        node = node_changes([ironic_port("11:22:33:44:55:66", pxe_enabled=False)])
        run(functional_ramdisk_data(), node, add_ports="active", keep_ports="added",
            update_pxe_enabled=False)
        created = {p.address: p for p in node.pending.ports_created}
        assert created["7c:fe:90:29:26:52"] == PortCreate(
            "7c:fe:90:29:26:52", {"client-id": FUNCTIONAL_IB_CLIENT_ID}, True)
        assert node.pending.ports_patched == {}
        assert node.pending.ports_deleted == []

    @pytest.mark.parametrize("keep_ports,deleted", [
        ("all", []),
        ("present", ["stale-port"]),
        ("added", ["eno2-port", "stale-port"]),
    ])
    def test_keep_ports(self, keep_ports: str, deleted: list[str]) -> None:
        """keep_ports decides which existing ports are deleted."""
        node = node_changes([ironic_port("3c:fd:fe:aa:00:02", uuid="eno2-port"),
                             ironic_port("aa:aa:aa:aa:aa:aa", uuid="stale-port")])
        run(ramdisk_data(), node, keep_ports=keep_ports)
        assert node.pending.ports_deleted == deleted

    def test_present_uses_all_interfaces(self) -> None:
        """keep_ports=present keeps ports of interfaces that were not selected."""
        node = node_changes([ironic_port("3c:fd:fe:aa:00:02")])
        run(ramdisk_data(), node, keep_ports="present")
        assert "3c:fd:fe:aa:00:02" in node.ports

    @pytest.mark.parametrize("state", ["active", "rescue"])
    def test_deployed_node_ports_untouched(self, state: str) -> None:
        """For active/rescue nodes ports are created but never deleted or patched."""
        node = node_changes([ironic_port("aa:aa:aa:aa:aa:aa"),
                             ironic_port("7c:fe:90:29:2a:61", pxe_enabled=True)],
                            provision_state=state)
        run(ramdisk_data(), node, add_ports="active", keep_ports="added")
        assert node.pending.ports_created == [PortCreate(PXE_MAC, {}, True)]
        assert node.pending.ports_deleted == [] and node.pending.ports_patched == {}

    def test_functional_active_node_no_port_created(self) -> None:
        """Spec 13.1 case 69: an active node that has the PXE port gets no new port."""
        node = node_changes([ironic_port("11:22:33:44:55:66")], provision_state="active")
        run(functional_ramdisk_data(), node)
        assert node.pending.is_empty()

    def test_pxe_enabled_fixed(self) -> None:
        """A selected interface's port with the wrong pxe_enabled is patched."""
        node = node_changes([ironic_port(PXE_MAC, uuid="pxe-port", pxe_enabled=False)])
        run(ramdisk_data(), node)
        assert node.pending.ports_patched == {
            "pxe-port": [{"op": "replace", "path": "/pxe_enabled", "value": True}]}

    @pytest.mark.parametrize("processing", [{"overwrite_existing": False},
                                            {"update_pxe_enabled": False}])
    def test_pxe_enabled_left_alone(self, processing: dict[str, Any]) -> None:
        """pxe_enabled is only fixed with overwrite_existing and update_pxe_enabled."""
        node = node_changes([ironic_port(PXE_MAC, pxe_enabled=False)])
        run(ramdisk_data(), node, **processing)
        assert node.pending.ports_patched == {}
        assert node.ports[PXE_MAC]["pxe_enabled"] is False
