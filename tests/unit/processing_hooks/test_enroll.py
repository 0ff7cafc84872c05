"""The enroll node-not-found hook (spec 4.5), against FakeIronic and a real SQLite repository."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.errors import HookError, IronicError
from metalscope.extensions import NOT_FOUND_HOOKS_GROUP, load_group
from metalscope.processing_hooks.enroll import EnrollHook, driver_info, node_fields
from metalscope.processing_hooks.spec import NodeNotFoundHook
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from metalscope.settings import Settings
from tests.factories import PXE_MAC, inventory, ramdisk_data, settings
from tests.fakes import FakeIronic

FIELDS = {"management_interface": "noop", "resource_class": "baremetal"}


@pytest.fixture
def ironic() -> FakeIronic:
    return FakeIronic()


def discovery(**options: Any) -> Settings:
    return settings(discovery={"enroll_node_fields": FIELDS, **options})


def preprocessed(**overrides: Any) -> dict[str, Any]:
    """Ramdisk data after validate_interfaces, as the not-found hook receives it."""
    data = ramdisk_data(**overrides)
    ValidateInterfacesHook(settings()).before_processing(data)
    return data


async def enroll(hook: EnrollHook, data: dict[str, Any], ironic: FakeIronic) -> str | None:
    return await hook(data, ironic)  # type: ignore[arg-type]


class TestEnroll:
    async def test_creates_node_and_returns_its_uuid(self, ironic: FakeIronic) -> None:
        """The node is created in enroll with the configured fields; its UUID is returned."""
        uuid = await enroll(EnrollHook(discovery()), preprocessed(), ironic)
        assert uuid is not None and list(ironic.nodes) == [uuid]
        node = ironic.nodes[uuid]
        assert node["provision_state"] == "enroll" and node["driver"] == "fake-hardware"
        assert node["driver_info"] == {"ipmi_address": "192.0.2.200"}
        assert (node["management_interface"], node["resource_class"]) == ("noop", "baremetal")

    async def test_marks_data_auto_discovered(self, ironic: FakeIronic) -> None:
        """The data gets auto_discovered = True for rules."""
        data = preprocessed()
        await enroll(EnrollHook(discovery()), data, ironic)
        assert data["auto_discovered"] is True

    async def test_configured_driver(self, ironic: FakeIronic) -> None:
        """The node gets [discovery]enroll_node_driver."""
        uuid = await enroll(EnrollHook(discovery(enroll_node_driver="ipmi")), preprocessed(),
                            ironic)
        assert uuid is not None and ironic.nodes[uuid]["driver"] == "ipmi"

    async def test_configured_provision_state_dropped(self, ironic: FakeIronic) -> None:
        """A provision_state among the fields is not sent: new nodes start in enroll."""
        hook = EnrollHook(settings(discovery={"enroll_node_fields": {"provision_state": "active"}}))
        uuid = await enroll(hook, preprocessed(), ironic)
        assert uuid is not None and ironic.nodes[uuid]["provision_state"] == "enroll"

    async def test_duplicate_mac_refused(self, ironic: FakeIronic) -> None:
        """A reported MAC that is already a port refuses the enrollment."""
        existing = ironic.add_node(macs=[PXE_MAC])
        port_uuid = next(iter(ironic.ports))
        with pytest.raises(HookError) as info:
            await enroll(EnrollHook(discovery()), preprocessed(), ironic)
        assert str(info.value) == f"Port {PXE_MAC} already exists, uuid: {port_uuid}"
        assert list(ironic.nodes) == [existing["uuid"]]

    async def test_duplicate_mac_of_unselected_interface(self, ironic: FakeIronic) -> None:
        """Every reported valid MAC is checked, not only those selected for ports."""
        ironic.add_node(macs=["3c:fd:fe:aa:00:02"])
        with pytest.raises(HookError, match="Port 3c:fd:fe:aa:00:02 already exists"):
            await enroll(EnrollHook(discovery()), preprocessed(), ironic)

    async def test_duplicate_bmc_refused(self, ironic: FakeIronic) -> None:
        """A node that already has the BMC address refuses the enrollment."""
        existing = ironic.add_node(driver_info={"ipmi_address": "192.0.2.200"})
        with pytest.raises(HookError) as info:
            await enroll(EnrollHook(discovery()), preprocessed(), ironic)
        assert str(info.value) == f"Node {existing['uuid']} already has BMC address 192.0.2.200"
        assert len(ironic.nodes) == 1

    async def test_other_bmc_accepted(self, ironic: FakeIronic) -> None:
        """Nodes with other BMC addresses do not block the enrollment."""
        ironic.add_node(driver_info={"redfish_address": "https://192.0.2.9/redfish/v1"})
        uuid = await enroll(EnrollHook(discovery()), preprocessed(), ironic)
        assert uuid in ironic.nodes and len(ironic.nodes) == 2

    async def test_ironic_refusal_returns_none(self, ironic: FakeIronic) -> None:
        """An Ironic error is logged and the hook returns None."""
        async def refuse(**fields: Any) -> dict[str, Any]:
            raise IronicError("Driver fake-hardware is not loaded", 400)

        ironic.create_node = refuse  # type: ignore[method-assign]
        assert await enroll(EnrollHook(discovery()), preprocessed(), ironic) is None


class TestFields:
    def test_node_fields(self) -> None:
        """Configured fields, driver and driver_info make the create request."""
        assert node_fields(ramdisk_data(), discovery().discovery) == {
            **FIELDS, "driver": "fake-hardware", "driver_info": {"ipmi_address": "192.0.2.200"}}

    def test_preferred_version(self) -> None:
        """The first configured BMC address version that the data has wins."""
        data = ramdisk_data(inventory=inventory(bmc_v6address="2001:db8::5"))
        assert driver_info(data, ["6", "4"]) == {"ipmi_address": "2001:db8::5"}
        assert driver_info(data, ["4", "6"]) == {"ipmi_address": "192.0.2.200"}

    def test_unknown_v6_falls_back(self) -> None:
        """An unknown IPv6 BMC address ("::/0") falls back to IPv4."""
        assert driver_info(ramdisk_data(), ["6", "4"]) == {"ipmi_address": "192.0.2.200"}

    def test_no_bmc(self, caplog: pytest.LogCaptureFixture) -> None:
        """Without any BMC address driver_info is empty and a warning logged."""
        data = ramdisk_data(inventory=inventory(bmc_address="0.0.0.0"))
        assert driver_info(data, ["4", "6"]) == {}
        assert caplog.records

    def test_legacy_ipmi_address(self) -> None:
        """Data without an inventory BMC key falls back to the legacy top-level one."""
        data = ramdisk_data(ipmi_address="192.0.2.77")
        del data["inventory"]["bmc_address"]
        assert driver_info(data, ["4"]) == {"ipmi_address": "192.0.2.77"}


def test_registered_and_typed() -> None:
    """``enroll`` is an entry point and satisfies the NodeNotFoundHook protocol."""
    assert load_group(NOT_FOUND_HOOKS_GROUP)["enroll"].load() is EnrollHook
    assert isinstance(EnrollHook(settings()), NodeNotFoundHook)
