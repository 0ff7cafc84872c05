"""BMC addresses from driver_info (spec 4.1)."""

import pytest

from metalscope.bmc import bmc_host, resolve_bmc_addresses

FIELDS = ["redfish_address", "ilo_address", "drac_host", "drac_address", "ibmc_address"]


class TestBmcHost:
    @pytest.mark.parametrize("info,expected", [
        ({"ipmi_address": "192.0.2.5"}, "192.0.2.5"),
        ({"redfish_address": "https://10.1.2.3:8443/redfish/v1"}, "10.1.2.3"),
        ({"redfish_address": "[fd00::5]"}, "fd00::5"),
        ({"ipmi_address": "", "ilo_address": "192.0.2.9"}, "192.0.2.9"),
        ({"ipmi_address": "192.0.2.5", "ipmi_bridging": "single"}, None),
        ({"ipmi_address": "192.0.2.5", "ipmi_bridging": "no"}, "192.0.2.5"),
        ({}, None),
    ])
    def test_first_non_empty_field(self, info: dict, expected: str | None) -> None:
        """The first non-empty field wins; URLs give their host; bridging disables it."""
        assert bmc_host(info, FIELDS) == expected


class TestResolve:
    async def test_ip_literals(self) -> None:
        """Literal addresses resolve to themselves."""
        assert await resolve_bmc_addresses({"ipmi_address": "192.0.2.5"}, FIELDS) == ["192.0.2.5"]
        addresses = await resolve_bmc_addresses({"ipmi_address": "2001:db8::7"}, FIELDS)
        assert addresses == ["2001:db8::7"]

    async def test_loopback_ignored(self) -> None:
        """Loopback addresses are never recorded."""
        assert await resolve_bmc_addresses({"ipmi_address": "127.0.0.1"}, FIELDS) == []

    async def test_unresolvable(self) -> None:
        """A name that does not resolve gives no address."""
        assert await resolve_bmc_addresses({"ipmi_address": "no-such-host.invalid"}, FIELDS) == []
