"""Gathering the filter's inputs from the database and Ironic (spec 8.2).

Includes the Ethernet-over-InfiniBand mapping (``[iptables]ethoib_interfaces``, used by both
drivers): the DHCP server sees an IPoIB port under the Ethernet MAC listed for its GUID in
``/sys/class/net/<interface>/eth/neighs``, so that MAC is the one to filter.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence, Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from metalscope.pxe_filter.policy import FilterInputs
from metalscope.settings import Settings
from metalscope.storage.repository import Repository

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)
SYSFS_NET = Path("/sys/class/net")
_NEIGH = re.compile(r"EMAC=((?:[0-9a-f]{2}:){5}[0-9a-f]{2}) IMAC=(\S+)", re.IGNORECASE)
#: The port fields the filter reads: the MAC, and ``extra`` for an InfiniBand client id.
PORT_FIELDS = ["address", "extra"]
#: The last 8 bytes of an InfiniBand client id (``xx:`` × 8 minus the last colon) are the GUID.
GUID_CHARS = 23


def parse_neighs(text: str) -> list[tuple[str, str]]:
    """``(emac, imac)`` pairs of an ``eth/neighs`` file."""
    return [(emac.lower(), imac.lower()) for emac, imac in _NEIGH.findall(text)]


def ethoib_mapping(ports: Iterable[Mapping[str, Any]],
                   neighs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Port address → Ethernet MAC, for ports whose client-id GUID is in the neighbours list."""
    by_guid = {imac[-GUID_CHARS:]: emac for emac, imac in neighs}
    mapping: dict[str, str] = {}
    for port in ports:
        client_id = str((port.get("extra") or {}).get("client-id") or "").lower()
        emac = by_guid.get(client_id[-GUID_CHARS:]) if client_id else None
        if emac and port.get("address"):
            mapping[str(port["address"]).lower()] = emac
    return mapping


def read_neighs(interfaces: Sequence[str], root: Path = SYSFS_NET) -> list[tuple[str, str]]:
    """The neighbours of every listed interface; an unreadable file skips its interface."""
    pairs: list[tuple[str, str]] = []
    for interface in interfaces:
        try:
            pairs += parse_neighs((root / interface / "eth" / "neighs").read_text())
        except OSError as exc:
            LOG.error("Interface %s is not Ethernet over InfiniBand, skipping it: %s",
                      interface, exc)
    return pairs


async def introspection_active(repo: Repository) -> bool:
    """At least one record is unfinished (spec 8.2): one EXISTS query, not a read of the
    records."""
    return await repo.any_active()


async def list_ironic_macs(settings: Settings, ironic: IronicClient,
                           sysfs: Path = SYSFS_NET) -> tuple[frozenset[str], dict[str, str]]:
    """Every Ironic port's MAC as the DHCP server sees it, and the InfiniBand mapping used.

    Raises IronicError when Ironic cannot list its ports.
    """
    return macs_of_ports(settings, await ironic.list_ports(fields=PORT_FIELDS), sysfs)


def macs_of_ports(settings: Settings, ports: Iterable[Mapping[str, Any]],
                  sysfs: Path = SYSFS_NET) -> tuple[frozenset[str], dict[str, str]]:
    """The ports' MACs as the DHCP server sees them, and the InfiniBand mapping used."""
    ports = list(ports)
    interfaces = settings.iptables.ethoib_interfaces
    mapping = ethoib_mapping(ports, read_neighs(interfaces, sysfs)) if interfaces else {}
    addresses = frozenset(p["address"].lower() for p in ports if p.get("address"))
    if mapping:
        addresses = frozenset(mapping.get(a, a) for a in addresses)
    return addresses, mapping


async def read_activity(repo: Repository, mapping: Mapping[str, str],
                        starting: bool = False) -> tuple[frozenset[str], bool]:
    """MACs under introspection, and whether any introspection runs (spec 8.2).

    ``starting``: the caller knows one does. An active MAC says so too, so the records table
    (no index on its state) is only scanned when neither does.
    """
    active = frozenset(mapping.get(m, m) for m in await repo.active_macs())
    return active, starting or bool(active) or await introspection_active(repo)


def filter_inputs(settings: Settings, ironic_macs: Set[str], active_macs: Set[str],
                  busy: bool) -> FilterInputs:
    return FilterInputs(ironic_macs=ironic_macs, active_macs=active_macs,
                        introspection_active=busy,
                        discovery=bool(settings.processing.node_not_found_hook),
                        deny_unknown_macs=settings.pxe_filter.deny_unknown_macs)


async def gather_inputs(settings: Settings, repo: Repository, ironic: IronicClient,
                        sysfs: Path = SYSFS_NET) -> tuple[FilterInputs, dict[str, str]]:
    """The inputs of a full sync, and the InfiniBand mapping (raises IronicError)."""
    ironic_macs, mapping = await list_ironic_macs(settings, ironic, sysfs)
    active, busy = await read_activity(repo, mapping)
    return filter_inputs(settings, ironic_macs, active, busy), mapping
