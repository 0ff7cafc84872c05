"""Choosing and validating the PXE filter driver, and the pxe-filter command's checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from metalscope.cli import main
from metalscope.errors import ConfigurationError
from metalscope.pxe_filter.base import NoopFilter, check_filter_settings, create_filter
from metalscope.pxe_filter.dnsmasq import HostsDir
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.pxe_filter.iptables import Chain
from metalscope.pxe_filter.runner import check_runner_settings
from tests.unit.pxe_filter.conftest import PortsIronic, filter_settings


def test_noop_needs_nothing() -> None:
    assert isinstance(create_filter(filter_settings(pxe_filter={"driver": "noop"})), NoopFilter)


@pytest.mark.parametrize(("driver", "backend"), [("dnsmasq", HostsDir), ("iptables", Chain)])
def test_drivers(driver: str, backend: type, tmp_path: Path) -> None:
    settings = filter_settings(pxe_filter={"driver": driver})
    pxe = create_filter(settings, object(), PortsIronic())  # type: ignore[arg-type]
    assert isinstance(pxe, DiffFilter) and isinstance(pxe.backend, backend)


def test_drivers_need_repository_and_ironic() -> None:
    """Refused, naming the driver; the driver's own ValueError is the cause."""
    with pytest.raises(ConfigurationError, match=r"dnsmasq .* needs the repository") as info:
        create_filter(filter_settings(pxe_filter={"driver": "dnsmasq"}))
    assert isinstance(info.value.__cause__, ValueError)


def test_unknown_driver_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        create_filter(filter_settings(pxe_filter={"driver": "ebtables"}))
    assert str(info.value) == ("[pxe_filter]driver = ebtables is not a PXE filter driver; "
                               "use one of dnsmasq, iptables, noop")


def test_unknown_driver() -> None:
    with pytest.raises(ConfigurationError, match="driver = ebtables is not a PXE filter driver"):
        check_filter_settings(filter_settings(pxe_filter={"driver": "ebtables"}))


def test_deny_unknown_macs_with_discovery_is_refused() -> None:
    """Spec 4.5: upstream's message, spacing included."""
    settings = filter_settings(pxe_filter={"driver": "noop", "deny_unknown_macs": True},
                               processing={"node_not_found_hook": "enroll"})
    with pytest.raises(ConfigurationError) as info:
        check_filter_settings(settings)
    assert str(info.value) == (
        "Configuration error: [pxe_filter]deny_unknown_macs isenabled and "
        "[processing]node_not_found_hook is enabled.These options cannot both be enabled "
        "simultaneously.")


@pytest.mark.parametrize(("options", "message"), [
    ({"driver": "noop"}, "driver is noop"),
    ({"driver": "dnsmasq", "sync_period": 0}, "sync_period must be positive"),
])
def test_command_refuses(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_runner_settings(filter_settings(pxe_filter=options))


def test_command_reports_configuration_errors(tmp_path: Path) -> None:
    conf = tmp_path / "inspector.conf"
    conf.write_text("[pxe_filter]\ndriver = noop\n")
    result = CliRunner().invoke(main, ["pxe-filter", "--config-file", str(conf)])
    assert result.exit_code == 1 and "driver is noop" in result.output
