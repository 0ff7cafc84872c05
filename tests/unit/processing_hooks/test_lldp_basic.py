"""The lldp_basic hook (spec 5.4)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from metalscope.errors import HookError
from metalscope.processing_hooks.lldp_basic import LldpBasicHook
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from tests.factories import functional_ramdisk_data, node_changes, ramdisk_data, settings

SPEC_PROCESSED = {"switch_chassis_id": "d4:c9:ef:11:22:33", "switch_port_id": "Ethernet1/7",
                  "switch_system_name": "tor-rack12", "switch_port_untagged_vlan_id": 100}


def preprocessed(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` after validate_interfaces has built ``all_interfaces``."""
    ValidateInterfacesHook(settings()).before_processing(data)
    return data


def run(data: dict[str, Any]) -> dict[str, Any]:
    LldpBasicHook(settings()).before_update(data, node_changes())
    return data


class TestBeforeUpdate:
    def test_spec_example(self) -> None:
        """The spec 6.3 PXE NIC's TLVs are stored decoded under all_interfaces."""
        data = run(preprocessed(ramdisk_data()))
        assert data["all_interfaces"]["eno1"]["lldp_processed"] == SPEC_PROCESSED

    def test_interfaces_without_lldp_untouched(self) -> None:
        """Interfaces without LLDP data get no lldp_processed key."""
        data = run(preprocessed(ramdisk_data()))
        assert "lldp_processed" not in data["all_interfaces"]["eno2"]
        assert "lldp_processed" not in data["all_interfaces"]["ib0"]

    def test_functional_data(self) -> None:
        """The spec 13.1 eth1 gets the chassis MAC and port ID "734"."""
        data = run(preprocessed(functional_ramdisk_data()))
        assert data["all_interfaces"]["eth1"]["lldp_processed"] == {
            "switch_chassis_id": "11:22:33:aa:bb:cc", "switch_port_id": "734"}

    def test_lldp_raw_preferred(self) -> None:
        """TLVs under ``lldp_raw[<name>]`` replace the interface's own ``lldp``."""
        data = preprocessed(ramdisk_data(lldp_raw={"eno1": [[5, "7377"]]}))
        assert run(data)["all_interfaces"]["eno1"]["lldp_processed"] == {
            "switch_system_name": "sw"}

    def test_nothing_decoded_nothing_stored(self) -> None:
        """Only malformed TLVs store no lldp_processed at all."""
        data = preprocessed(ramdisk_data())
        data["inventory"]["interfaces"][0]["lldp"] = [[1, "zz"], [3, "0078"], "junk"]
        assert "lldp_processed" not in run(data)["all_interfaces"]["eno1"]

    def test_interface_without_valid_mac_skipped(self, caplog: pytest.LogCaptureFixture) -> None:
        """Q-HOOK-2: LLDP data on an interface left out of all_interfaces is skipped."""
        data = preprocessed(ramdisk_data())
        data["inventory"]["interfaces"].append(
            {"name": "eno9", "mac_address": "not-a-mac", "lldp": [[5, "7377"]]})
        with caplog.at_level(logging.WARNING):
            run(data)
        assert "eno9" not in data["all_interfaces"]
        assert any("eno9" in r.getMessage() for r in caplog.records)

    def test_no_ironic_changes(self) -> None:
        """The hook never edits the node."""
        node = node_changes()
        LldpBasicHook(settings()).before_update(preprocessed(ramdisk_data()), node)
        assert node.pending.is_empty()

    def test_missing_inventory(self) -> None:
        """The common inventory check applies."""
        with pytest.raises(HookError, match="Hardware inventory is empty or missing"):
            run({"all_interfaces": {}})
