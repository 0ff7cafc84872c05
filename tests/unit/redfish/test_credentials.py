"""BMC access from an Ironic node's driver_info."""

from pathlib import Path
from typing import Any

import pytest

from metalscope.redfish.credentials import BmcAccess, bmc_access
from metalscope.redfish.errors import RedfishError

NODE = "6b9a3f6e-8a3d-4f0c-9d2e-6f7d1c2b3a4e"


def access(verify_default: bool = True, **info: Any) -> BmcAccess:
    return bmc_access({"uuid": NODE, "driver_info": info}, verify_default=verify_default)


def failure(**info: Any) -> RedfishError:
    with pytest.raises(RedfishError) as caught:
        access(**info)
    assert caught.value.node == NODE and caught.value.kind == "configuration"
    return caught.value


@pytest.mark.parametrize(("given", "address", "root"), [
    ("https://bmc.example.org", "https://bmc.example.org", "/redfish/v1/"),
    ("bmc.example.org", "https://bmc.example.org", "/redfish/v1/"),
    ("10.0.0.5:8443", "https://10.0.0.5:8443", "/redfish/v1/"),
    ("http://10.0.0.5:8000/", "http://10.0.0.5:8000", "/redfish/v1/"),
    ("https://[2001:db8::5]:8443", "https://[2001:db8::5]:8443", "/redfish/v1/"),
    ("[2001:db8::5]", "https://[2001:db8::5]", "/redfish/v1/"),
    ("https://bmc/custom/v1", "https://bmc", "/custom/v1/"),
])
def test_address_forms(given: str, address: str, root: str) -> None:
    result = access(redfish_address=given)
    assert (result.address, result.root_prefix) == (address, root)


def test_all_keys() -> None:
    result = access(redfish_address="https://bmc", redfish_system_id="/redfish/v1/Systems/1",
                    redfish_username="admin", redfish_password="s3cret",
                    redfish_verify_ca="false")
    assert result == BmcAccess("https://bmc", "/redfish/v1/Systems/1", "admin", "s3cret",
                               False)


def test_password_not_in_repr() -> None:
    result = access(redfish_address="https://bmc", redfish_password="s3cret-value")
    assert "s3cret-value" not in repr(result)


def test_missing_address_names_node_and_key() -> None:
    error = failure(redfish_username="admin")
    assert error.resource == "driver_info/redfish_address"
    assert str(error).startswith(f"Out-of-band inspection of node {NODE} failed: "
                                 "driver_info/redfish_address: missing")


def test_masked_password_names_the_policy() -> None:
    error = failure(redfish_address="https://bmc", redfish_password="******")
    assert error.resource == "driver_info/redfish_password"
    assert "show_password" in error.message


@pytest.mark.parametrize("given", ["ftp://bmc", "https://", "https://bmc:99999"])
def test_bad_addresses(given: str) -> None:
    assert failure(redfish_address=given).resource == "driver_info/redfish_address"


def test_credentials_in_address_refused_without_echoing_them() -> None:
    error = failure(redfish_address="https://admin:pw-in-url@bmc")
    assert "pw-in-url" not in str(error)


@pytest.mark.parametrize(("given", "expected"), [
    (True, True), (False, False), ("True", True), ("no", False), ("0", False), ("yes", True),
])
def test_verify_values(given: Any, expected: bool) -> None:
    assert access(redfish_address="bmc", redfish_verify_ca=given).verify is expected


def test_verify_default_and_path(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    assert access(redfish_address="bmc").verify is True
    assert access(False, redfish_address="bmc").verify is False
    assert access(redfish_address="bmc", redfish_verify_ca=str(bundle)).verify == str(bundle)


def test_verify_neither_boolean_nor_path() -> None:
    error = failure(redfish_address="bmc", redfish_verify_ca="/no/such/ca.pem")
    assert error.resource == "driver_info/redfish_verify_ca"
