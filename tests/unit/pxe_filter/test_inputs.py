"""Gathering the filter inputs, and the Ethernet-over-InfiniBand mapping (spec 8.2)."""

from __future__ import annotations

from pathlib import Path

from metalscope.pxe_filter.inputs import (
    ethoib_mapping,
    gather_inputs,
    introspection_active,
    parse_neighs,
    read_neighs,
)
from metalscope.storage.repository import Repository
from tests.unit.pxe_filter.conftest import (
    PortsIronic,
    end_introspection,
    filter_settings,
    start_introspection,
)

GUID = "7c:fe:90:03:00:29:26:52"
NEIGHS = (f"EMAC=02:00:02:97:00:01 IMAC=97:fe:80:00:00:00:00:00:00:{GUID}\n"
          "EMAC=02:00:02:97:00:02 IMAC=97:fe:80:00:00:00:00:00:00:7c:fe:90:03:00:29:26:53\n")
IB_MAC = "7c:fe:90:29:26:52"
IB_PORT = {"address": IB_MAC,
           "extra": {"client-id": f"ff:00:00:00:00:00:02:00:00:02:c9:00:{GUID.upper()}"}}


def test_parse_neighs() -> None:
    assert parse_neighs(NEIGHS)[0] == ("02:00:02:97:00:01", f"97:fe:80:00:00:00:00:00:00:{GUID}")


def test_mapping_uses_the_client_id_guid() -> None:
    ports = [IB_PORT, {"address": "52:54:00:00:00:01", "extra": {}},
             {"address": "52:54:00:00:00:02", "extra": {"client-id": "ff:00:11"}}]
    assert ethoib_mapping(ports, parse_neighs(NEIGHS)) == {IB_MAC: "02:00:02:97:00:01"}


def test_unreadable_interface_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "ib0" / "eth").mkdir(parents=True)
    (tmp_path / "ib0" / "eth" / "neighs").write_text(NEIGHS)
    assert len(read_neighs(["eth9", "ib0"], tmp_path)) == 2


async def test_gather_inputs(tmp_path: Path, repo: Repository) -> None:
    (tmp_path / "ib0" / "eth").mkdir(parents=True)
    (tmp_path / "ib0" / "eth" / "neighs").write_text(NEIGHS)
    settings = filter_settings(iptables={"ethoib_interfaces": ["ib0"]},
                               processing={"node_not_found_hook": "enroll"})
    ironic = PortsIronic(["52:54:00:00:00:0A"])
    ironic.ports.append(IB_PORT)
    await start_introspection(repo, "11111111-1111-4111-8111-111111111111", [IB_MAC])
    inputs, mapping = await gather_inputs(settings, repo, ironic,  # type: ignore[arg-type]
                                          tmp_path)
    assert inputs.ironic_macs == {"52:54:00:00:00:0a", "02:00:02:97:00:01"}
    assert inputs.active_macs == {"02:00:02:97:00:01"}
    assert inputs.introspection_active and inputs.discovery and not inputs.deny_unknown_macs
    assert mapping == {IB_MAC: "02:00:02:97:00:01"}
    assert ironic.calls == [["address", "extra"]]


async def test_introspection_active_follows_records(repo: Repository) -> None:
    assert not await introspection_active(repo)
    await start_introspection(repo, "11111111-1111-4111-8111-111111111111", [])
    assert await introspection_active(repo)
    await end_introspection(repo, "11111111-1111-4111-8111-111111111111")
    assert not await introspection_active(repo)
