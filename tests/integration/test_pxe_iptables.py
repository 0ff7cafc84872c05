"""The iptables PXE filter running real iptables in a network namespace (the host's firewall
is untouched), with the real Ironic and a real database; the chain is read back with
``iptables -S``. Needs root, ``ip netns`` and iptables; without them the tests are skipped,
except under CI, where they fail."""

from __future__ import annotations

import dataclasses
import itertools
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.pxe_filter.iptables import Chain, ChainConfig
from metalscope.pxe_filter.processes import Completed, run_command
from metalscope.settings import Settings
from metalscope.storage.repository import Repository
from tests.factories import end_introspection, start_introspection

pytestmark = pytest.mark.integration

CHAIN = "ironic-inspector"
JUMP = f"-A INPUT -i br-ctlplane -p udp -m udp --dport 67 -j {CHAIN}"
_numbers = itertools.count(1)


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture
def netns() -> Iterator[str]:
    """A fresh network namespace (its own, empty, firewall)."""
    reason = None
    if shutil.which("ip") is None or shutil.which("iptables") is None:
        reason = "ip or iptables is not installed (apt-get install iproute2 iptables)"
    elif os.geteuid() != 0:
        reason = "network namespaces need root"
    name = f"msipt{os.getpid() % 10000}x{next(_numbers)}"
    if reason is None:
        result = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
        if result.returncode != 0:
            reason = f"cannot create a network namespace: {result.stderr.strip()}"
    if reason is not None:
        if _running_in_ci():
            pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    try:
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def in_netns(name: str) -> Callable[..., Any]:
    async def run(argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        return await run_command(["ip", "netns", "exec", name, *argv], stdin)
    return run


def iptables_s(netns: str, chain: str = CHAIN, binary: str = "iptables") -> list[str]:
    result = subprocess.run(["ip", "netns", "exec", netns, binary, "-S", chain],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.splitlines() if result.returncode == 0 else []


def iptables(netns: str, *args: str) -> None:
    subprocess.run(["ip", "netns", "exec", netns, "iptables", "-w", *args], check=True,
                   capture_output=True, timeout=30)


def mac_rule(mac: str, target: str) -> str:
    return f"-A {CHAIN} -m mac --mac-source {mac} -j {target}"


def with_driver(settings: Settings, **pxe_filter: Any) -> Settings:
    return settings.replace(pxe_filter=dataclasses.replace(
        settings.pxe_filter, driver="iptables", **pxe_filter))


def make_filter(netns: str, settings: Settings, repo: Repository,
                ironic: IronicClient) -> tuple[DiffFilter, Chain]:
    chain = Chain(ChainConfig.from_settings(settings), run=in_netns(netns))
    return DiffFilter(chain, settings, repo, ironic), chain




class TestRealIptables:
    async def test_chain_follows_introspections(self, netns: str, repo: Repository,
                                                ironic_settings: Settings,
                                                ironic_client: IronicClient,
                                                make_node: Any) -> None:
        settings = with_driver(ironic_settings)
        first, second = make_node(port_count=1), make_node(port_count=1)
        mac_1 = (await ironic_client.list_node_ports(first["uuid"]))[0]["address"]
        mac_2 = (await ironic_client.list_node_ports(second["uuid"]))[0]["address"]
        pxe, chain = make_filter(netns, settings, repo, ironic_client)
        await pxe.start()
        # idle, no discovery: DHCP closed by a single REJECT, jump from INPUT in place
        assert iptables_s(netns) == [f"-N {CHAIN}",
                                     f"-A {CHAIN} -j REJECT --reject-with icmp-port-unreachable"]
        assert JUMP in iptables_s(netns, "INPUT")

        await start_introspection(repo, first["uuid"], [mac_1])
        await pxe.allow({mac_1})
        rules = iptables_s(netns)
        assert rules[-1] == f"-A {CHAIN} -j ACCEPT"
        assert mac_rule(mac_2, "DROP") in rules and mac_rule(mac_1, "DROP") not in rules

        await end_introspection(repo, first["uuid"])
        await pxe.deny({mac_1})
        rules = iptables_s(netns)
        assert rules[-1] == f"-A {CHAIN} -j REJECT --reject-with icmp-port-unreachable"

        await start_introspection(repo, second["uuid"], [mac_2])
        await pxe.allow({mac_2})
        rules = iptables_s(netns)
        assert rules[-1] == f"-A {CHAIN} -j ACCEPT"
        assert mac_rule(mac_1, "DROP") in rules and mac_rule(mac_2, "DROP") not in rules
        commands = chain.commands
        await pxe.reconcile()
        assert chain.commands - commands == 2, "a sync without changes only reads the chain"
        assert iptables_s(netns) == rules

        await pxe.stop()
        assert iptables_s(netns) == [] and JUMP not in iptables_s(netns, "INPUT")

    async def test_reconcile_repairs_the_chain(self, netns: str, repo: Repository,
                                               ironic_settings: Settings,
                                               ironic_client: IronicClient,
                                               make_node: Any) -> None:
        settings = with_driver(ironic_settings, deny_unknown_macs=True)
        node = make_node(port_count=2)
        macs = [p["address"] for p in await ironic_client.list_node_ports(node["uuid"])]
        pxe, _ = make_filter(netns, settings, repo, ironic_client)
        await pxe.start()
        await start_introspection(repo, node["uuid"], macs)
        await pxe.allow(set(macs))
        expected = iptables_s(netns)
        assert sorted(expected[1:-1]) == sorted(mac_rule(m, "ACCEPT") for m in macs)
        assert expected[-1] == f"-A {CHAIN} -j DROP"

        iptables(netns, "-D", CHAIN, "-m", "mac", "--mac-source", macs[0], "-j", "ACCEPT")
        iptables(netns, "-D", "INPUT", "-i", "br-ctlplane", "-p", "udp", "--dport", "67",
                 "-j", CHAIN)
        await pxe.reconcile()
        assert sorted(iptables_s(netns)) == sorted(expected)
        assert JUMP in iptables_s(netns, "INPUT")

        iptables(netns, "-I", CHAIN, "1", "-p", "tcp", "--dport", "22", "-j", "ACCEPT")
        await pxe.reconcile()
        assert sorted(iptables_s(netns)) == sorted(expected), "foreign rule: chain rebuilt"
        await pxe.stop()

    async def test_ipv6_and_options(self, netns: str, repo: Repository,
                                    ironic_settings: Settings, ironic_client: IronicClient,
                                    make_node: Any) -> None:
        settings = with_driver(ironic_settings).replace(iptables=dataclasses.replace(
            ironic_settings.iptables, dnsmasq_interface="eth9", firewall_chain="pxe-v6",
            ip_version="6"))
        pxe, _ = make_filter(netns, settings, repo, ironic_client)
        await pxe.start()
        assert iptables_s(netns, "pxe-v6", "ip6tables")[-1] == (
            "-A pxe-v6 -j REJECT --reject-with icmp6-port-unreachable")
        assert ("-A INPUT -i eth9 -p udp -m udp --dport 547 -j pxe-v6"
                in iptables_s(netns, "INPUT", "ip6tables"))
        await pxe.stop()
