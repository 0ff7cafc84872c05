"""The configuration that makes Ironic 32's ``inspector`` interface drive a MetalScope."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from metalscope.testing import inspector_interface as ii
from metalscope.testing.ironic import ironic_release


@pytest.mark.parametrize("name,accepted", [
    ("localhost", False), ("localhost.localdomain", False), ("127.0.0.1", False),
    ("127.3.2.1", False), ("::1", False),
    ("vm", True), ("metalscope.example.org", True), ("192.0.2.5", True), ("localhost2", True),
])
def test_names_ironic_accepts_in_the_callback_url(name: str, accepted: bool) -> None:
    assert ii.accepted_as_callback_host(name) is accepted


def _resolver(table: dict[str, list[str]]) -> Callable[..., list[tuple[object, ...]]]:
    """A ``socket.getaddrinfo`` that knows only the names in ``table``."""
    def getaddrinfo(host: str, *args: object, **kwargs: object) -> list[tuple[object, ...]]:
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0)) for ip in table[host]]
    return getaddrinfo


@pytest.mark.parametrize("hostname,fqdn,table,expected", [
    ("vm", "localhost", {"vm": ["127.0.0.1"], "localhost": ["127.0.0.1"]}, "vm"),
    ("box", "box.lab", {"box": ["10.0.0.7"], "box.lab": ["127.0.0.1"]}, "box.lab"),
    ("box", "box", {"box": ["127.0.1.1"]}, None),  # loopback, but not where the tests listen
    ("box", "box", {"box": ["127.0.0.1", "10.0.0.7"]}, None),
    ("box", "box", {}, None),
    ("localhost", "localhost", {"localhost": ["127.0.0.1"]}, None),  # refused by Ironic
])
def test_callback_host_name(monkeypatch: pytest.MonkeyPatch, hostname: str, fqdn: str,
                            table: dict[str, list[str]], expected: str | None) -> None:
    monkeypatch.setattr(socket, "gethostname", lambda: hostname)
    monkeypatch.setattr(socket, "getfqdn", lambda: fqdn)
    monkeypatch.setattr(socket, "getaddrinfo", _resolver(table))
    assert ii.callback_host_name() == expected


def test_options_point_ironic_at_metalscope() -> None:
    options = ii.inspector_interface_options("http://127.0.0.1:5123", "vm", status_check_period=2)
    assert options["DEFAULT"] == {"enabled_inspect_interfaces": "inspector,no-inspect,fake"}
    assert options["inspector"] == {
        "endpoint_override": "http://127.0.0.1:5123", "auth_type": "none",
        "status_check_period": 2, "require_managed_boot": False,
        "callback_endpoint_override": "http://vm:5123"}
    assert "callback_endpoint_override" not in ii.inspector_interface_options(
        "http://127.0.0.1:5123")["inspector"]


def test_release_of_each_venv_keys_the_schema_cache(tmp_path: Path) -> None:
    """Two Ironic releases, two schema files; other ironic-* projects are not mistaken."""
    for venv, folders in (("v39", ["ironic_inspector-12.5.0", "ironic-39.0.0",
                                   "ironic_python_agent-13.0.0"]),
                          ("v32", ["ironic-32.1.0", "ironic-lib-7.0.0"])):
        for folder in folders:
            site_packages = tmp_path / venv / "lib/python3.11/site-packages"
            (site_packages / f"{folder}.dist-info").mkdir(parents=True)
        (tmp_path / venv / "bin").mkdir()
    assert ironic_release(tmp_path / "v39" / "bin") == "39.0.0"
    assert ironic_release(tmp_path / "v32" / "bin") == "32.1.0"
