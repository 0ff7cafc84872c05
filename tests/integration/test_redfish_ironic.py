"""The Ironic of the out-of-band tests: ``redfish`` nodes against an emulated BMC, checked
through Redfish when managed, their passwords shown."""

from __future__ import annotations

import uuid as uuidlib

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.redfish import LocalRedfishEmulator
from metalscope.testing.redfish_ironic import enroll_redfish_node


def test_a_redfish_node_is_managed_through_the_bmc_and_shows_its_password(
        redfish_ironic: LocalIronic, emulated_bmcs: LocalRedfishEmulator) -> None:
    system = emulated_bmcs.systems[0]
    info = emulated_bmcs.driver_info(system)
    node = enroll_redfish_node(redfish_ironic, f"rf-{uuidlib.uuid4().hex[:8]}", info)
    try:
        assert node["provision_state"] == "manageable"
        assert node["power_state"] == "power off"  # read from the emulated system
        assert node["power_interface"] == node["management_interface"] == "redfish"
        assert node["driver_info"]["redfish_password"] == emulated_bmcs.password
    finally:
        redfish_ironic.delete_node(node["uuid"])


def test_wrong_credentials_keep_the_node_out_of_manageable(
        redfish_ironic: LocalIronic, emulated_bmcs: LocalRedfishEmulator) -> None:
    system = emulated_bmcs.systems[0]
    info = emulated_bmcs.driver_info(system, redfish_password="wrong")
    node = enroll_redfish_node(redfish_ironic, None, info, provision_state="enroll")
    try:
        redfish_ironic.request_provision_action(node["uuid"], "manage")
        redfish_ironic.wait_for_rest(node["uuid"], "enroll")
        last_error = redfish_ironic.get_node(node["uuid"])["last_error"]
        assert "Failed to get power state" in last_error and "401" in last_error
    finally:
        redfish_ironic.delete_node(node["uuid"])
