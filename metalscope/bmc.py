"""BMC addresses of an Ironic node, derived from its driver_info (spec 4.1)."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from typing import Any
from urllib.parse import urlparse

LOG = logging.getLogger(__name__)


def bmc_host(driver_info: dict[str, Any], address_fields: list[str]) -> str | None:
    """The host part of the first non-empty BMC field, or None (also when bridging is used)."""
    bridging = driver_info.get("ipmi_bridging")
    if bridging is not None and bridging != "no":
        return None
    for name in ["ipmi_address", *address_fields]:
        value = driver_info.get(name)
        if value:
            return _host_of(str(value))
    return None


def _host_of(value: str) -> str:
    if "//" in value:
        value = urlparse(value).hostname or value
    return value.strip("[]")


def _pick(results: list[str]) -> list[str]:
    """Drop loopback addresses; keep the last IPv4 and the last IPv6 address."""
    v4 = v6 = None
    for address in results:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if ip.is_loopback:
            LOG.warning("Ignoring loopback BMC address %s", address)
        elif ip.version == 4:
            v4 = str(ip)
        else:
            v6 = str(ip)
    return [a for a in (v4, v6) if a]


async def resolve_bmc_addresses(driver_info: dict[str, Any],
                                address_fields: list[str]) -> list[str]:
    """Resolve the node's BMC host to at most one IPv4 and one IPv6 address."""
    host = bmc_host(driver_info, address_fields)
    if not host:
        return []
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError) as exc:
        LOG.warning("Failed to resolve the BMC address %s: %s", host, exc)
        return []
    return _pick([str(info[4][0]) for info in infos])
