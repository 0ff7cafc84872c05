"""The capabilities hook (spec 5.4)."""

import pytest

from metalscope.errors import HookError
from metalscope.processing_hooks.capabilities import CapabilitiesHook
from tests.factories import inventory, node_changes, ramdisk_data, settings

SPEC_CAPABILITIES = "cpu_vt:true,cpu_aes:true,cpu_hugepages:true,cpu_hugepages_1g:true,cpu_txt:true"


class TestBeforeUpdate:
    def test_spec_example(self) -> None:
        """The spec 6.3 CPU flags give the documented capabilities string."""
        node = node_changes()
        CapabilitiesHook(settings()).before_update(ramdisk_data(), node)
        assert node.properties["capabilities"] == SPEC_CAPABILITIES
        assert node.pending.node_patch == [
            {"op": "add", "path": "/properties/capabilities", "value": SPEC_CAPABILITIES}]

    def test_appended_to_existing(self) -> None:
        """Existing capabilities are kept and new ones appended after them."""
        node = node_changes(properties={"capabilities": "profile:compute,cpu_vt:false"})
        CapabilitiesHook(settings()).before_update(ramdisk_data(), node)
        assert node.properties["capabilities"] == (
            "profile:compute,cpu_vt:true,cpu_aes:true,cpu_hugepages:true,"
            "cpu_hugepages_1g:true,cpu_txt:true")

    def test_boot_mode_enabled(self) -> None:
        """With [capabilities]boot_mode the current boot mode is added."""
        node = node_changes()
        CapabilitiesHook(settings(capabilities={"boot_mode": True})).before_update(
            ramdisk_data(), node)
        assert node.capabilities["boot_mode"] == "uefi"

    def test_boot_mode_disabled_by_default(self) -> None:
        """By default the boot mode is not recorded."""
        node = node_changes()
        CapabilitiesHook(settings()).before_update(ramdisk_data(), node)
        assert "boot_mode" not in node.capabilities

    def test_custom_cpu_flags(self) -> None:
        """Only the configured flag mapping is used."""
        node = node_changes()
        hook = CapabilitiesHook(settings(capabilities={"cpu_flags": {"sse2": "has_sse2"}}))
        hook.before_update(ramdisk_data(), node)
        assert node.properties["capabilities"] == "has_sse2:true"

    def test_nothing_found_no_patch(self) -> None:
        """No matching flag and no boot mode means no Ironic change."""
        node = node_changes()
        data = ramdisk_data(inventory=inventory(cpu={"count": 1, "flags": ["fpu"]}, boot={}))
        CapabilitiesHook(settings(capabilities={"boot_mode": True})).before_update(data, node)
        assert node.pending.is_empty()

    def test_not_gated_by_overwrite_existing(self) -> None:
        """Capabilities are merged even with overwrite_existing false."""
        node = node_changes()
        hook = CapabilitiesHook(settings(processing={"overwrite_existing": False}))
        hook.before_update(ramdisk_data(), node)
        assert node.properties["capabilities"] == SPEC_CAPABILITIES

    def test_missing_cpu_means_no_cpu_capabilities(self) -> None:
        """Without ``inventory.cpu`` (upstream: a 500) there is simply nothing to report."""
        data = ramdisk_data()
        del data["inventory"]["cpu"]
        node = node_changes()
        CapabilitiesHook(settings()).before_update(data, node)
        assert "cpu_vt" not in str(node.properties.get("capabilities", ""))

    @pytest.mark.parametrize("cpu", ["x", ["vmx"], 3])
    def test_malformed_cpu_is_a_hook_error(self, cpu: object) -> None:
        """A ``cpu`` that is not an object fails processing with a clear message (a 400)."""
        data = ramdisk_data()
        data["inventory"]["cpu"] = cpu
        with pytest.raises(HookError, match="Malformed inventory: cpu must be an object"):
            CapabilitiesHook(settings()).before_update(data, node_changes())
