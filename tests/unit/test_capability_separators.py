"""Capabilities Ironic's ``key:value,key:value`` string cannot carry are refused.

Ironic splits ``properties/capabilities`` on ``,`` and each item on ``:`` with no escaping,
so a ``,`` or ``:`` in a posted value would add or change other capabilities. Every path
that writes the string goes through ``NodeChanges.update_capabilities``: the
``set-capability`` rule action, the ``capabilities`` hook (boot mode, CPU flags) and the
``pci_devices`` hook.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.errors import ConfigurationError
from metalscope.extensions import ACTIONS_GROUP, CONDITIONS_GROUP, ExtensionRegistry, load_group
from metalscope.node_changes import CapabilityError, capability_problem, parse_capabilities
from metalscope.processing_hooks.capabilities import CapabilitiesHook
from metalscope.processing_hooks.pci_devices import PciDevicesHook
from metalscope.rules.engine import apply_rules
from metalscope.rules.validation import parse_rule
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from tests.factories import inventory, node_changes, ramdisk_data, settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client

INJECTED = "uefi,secure_boot:true"


class TestNodeChanges:
    @pytest.mark.parametrize(("name", "value", "problem"), [
        ("boot_mode", INJECTED, "its value contains ',' and ':'"),
        ("boot_mode", "a,b", "its value contains ','"),
        ("boot_mode", "a:b", "its value contains ':'"),
        ("a,b", "x", "its name contains ','"),
        ("a:b", "x", "its name contains ':'"),
        ("", "x", "the name is empty"),
        ("list", [1, 2], "its value contains ','"),
    ])
    def test_refused(self, name: str, value: Any, problem: str) -> None:
        """The error names the capability and the reason; nothing is applied."""
        node = node_changes(properties={"capabilities": "profile:compute"})
        with pytest.raises(CapabilityError) as caught:
            node.update_capabilities(ok="yes", **{name: value})
        assert str(caught.value).startswith(f"Capability {name!r} cannot be set to ")
        assert problem in str(caught.value)
        assert node.properties["capabilities"] == "profile:compute"
        assert node.pending.is_empty()

    def test_accepted(self) -> None:
        """Ordinary names and values (spaces, dots, equals, slashes) read back as set."""
        node = node_changes()
        caps = {"boot_mode": "uefi", "cpu_vt": "true", "gpu.count": "2", "x": "a=b/c d"}
        node.update_capabilities(**caps)
        assert parse_capabilities(node.properties["capabilities"]) == caps

    def test_removal_needs_no_check(self) -> None:
        """A null value removes the capability whatever the name's text."""
        node = node_changes(properties={"capabilities": "profile:compute"})
        node.update_capabilities(profile=None)
        assert node.properties["capabilities"] == ""

    def test_long_value_is_shortened_in_the_message(self) -> None:
        """The value may be the ramdisk's, of any size: the message keeps 80 characters."""
        with pytest.raises(CapabilityError, match=r"\.\.\. \(10001 characters\)"):
            node_changes().update_capabilities(boot_mode="x" * 10000 + ",")

    def test_problem_helper(self) -> None:
        assert capability_problem("cpu_vt", "true") is None
        assert capability_problem("cpu_vt", 5) is None


class TestSetCapabilityAction:
    def rule(self, name: str, value: str) -> tuple[Any, Any, Any]:
        conditions = {n: ep.load()() for n, ep in load_group(CONDITIONS_GROUP).items()}
        actions = {n: ep.load()() for n, ep in load_group(ACTIONS_GROUP).items()}
        rule = parse_rule({"actions": [{"action": "set-capability", "name": name,
                                        "value": value}]}, conditions, actions)
        return rule, conditions, actions

    def test_formatted_value_with_separators_fails_the_rule(self) -> None:
        """A value formatted from posted data cannot add capabilities."""
        rule, conditions, actions = self.rule("vendor",
                                              "{data[inventory][system_vendor][manufacturer]}")
        vendor = {"manufacturer": "Acme,secure_boot:true"}
        data = ramdisk_data(inventory=inventory(system_vendor=vendor))
        node = node_changes()
        with pytest.raises(CapabilityError, match=r"^Capability 'vendor' cannot be set to "
                                                  r"'Acme,secure_boot:true'"):
            apply_rules([rule], data, node, conditions, actions)
        assert "capabilities" not in node.properties

    def test_plain_value(self) -> None:
        rule, conditions, actions = self.rule("vendor",
                                              "{data[inventory][system_vendor][manufacturer]}")
        data = ramdisk_data(inventory=inventory(system_vendor={"manufacturer": "Acme"}))
        node = node_changes()
        apply_rules([rule], data, node, conditions, actions)
        assert node.capabilities == {"vendor": "Acme"}

    def test_name_with_colon(self) -> None:
        rule, conditions, actions = self.rule("a:b", "x")
        with pytest.raises(CapabilityError, match="its name contains ':'"):
            apply_rules([rule], {}, node_changes(), conditions, actions)


class TestCapabilitiesHook:
    def test_boot_mode_with_separators(self) -> None:
        """The ramdisk's boot mode cannot add ``secure_boot``: the node fails, naming it."""
        hook = CapabilitiesHook(settings(capabilities={"boot_mode": True}))
        data = ramdisk_data(inventory=inventory(boot={"current_boot_mode": INJECTED}))
        node = node_changes()
        with pytest.raises(CapabilityError, match=r"^Capability 'boot_mode' cannot be set to "
                                                  r"'uefi,secure_boot:true'"):
            hook.before_update(data, node)
        assert node.pending.is_empty()

    def test_boot_mode_not_a_string(self) -> None:
        """An object where a mode is expected is refused, not written as its repr."""
        hook = CapabilitiesHook(settings(capabilities={"boot_mode": True}))
        data = ramdisk_data(inventory=inventory(boot={"current_boot_mode": {"a": "b"}}))
        with pytest.raises(CapabilityError, match="its value contains ':'"):
            hook.before_update(data, node_changes())

    @pytest.mark.parametrize("capability", ["cpu:vt", "cpu,vt", ""])
    def test_cpu_flag_capability_names_checked_at_start(self, capability: str) -> None:
        """A configured capability name with a separator stops start-up, naming it."""
        with pytest.raises(ConfigurationError, match=r"^\[capabilities\]cpu_flags: the "
                                                     r"capability .* of CPU flag 'vmx'"):
            CapabilitiesHook(settings(capabilities={"cpu_flags": {"vmx": capability}}))


class TestPciDevicesHook:
    def test_alias_name_with_separator_is_ignored(self, caplog: pytest.LogCaptureFixture) -> None:
        """Like any other unusable alias entry: logged and left out."""
        alias = '{"vendor_id": "10de", "product_id": "1eb8", "name": "gpu:t4"}'
        with caplog.at_level(logging.ERROR):
            hook = PciDevicesHook(settings(pci_devices={"alias": [alias]}))
        assert hook.aliases == {}
        assert "its name cannot be a capability name: its name contains ':'" in caplog.text


def test_callback_fails_the_node_instead_of_injecting(tmp_path: Any) -> None:
    """Through ``/v1/continue``: 400, the node in error naming ``boot_mode``, and Ironic's
    capabilities without ``secure_boot``."""
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    configured: Settings = load_settings(overrides={
        "database": {"connection": url}, "DEFAULT": {"introspection_delay": 0},
        "capabilities": {"boot_mode": True}})
    ironic = FakeIronic()
    node = ironic.add_node(driver_info={"ipmi_address": "192.0.2.200"},
                           macs=["3c:fd:fe:aa:00:01"])
    with make_client(configured, ironic, ExtensionRegistry.from_settings(configured)) as client:
        assert client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        data = ramdisk_data(inventory=inventory(boot={"current_boot_mode": INJECTED}))
        response = client.post("/v1/continue", json=data)
        assert response.status_code == 400
        assert "Capability 'boot_mode' cannot be set to" in response.json()["error"]["message"]
        status = _settled(client, node["uuid"])
    assert status["state"] == "error" and "Capability 'boot_mode'" in status["error"]
    capabilities = ironic.nodes[node["uuid"]]["properties"].get("capabilities", "")
    assert "secure_boot" not in capabilities


def _settled(client: TestClient, uuid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/v1/introspection/{uuid}").json()
        if body.get("finished") or time.monotonic() > deadline:
            return body
        time.sleep(0.02)
