"""The iptables filter: a chain of per-MAC rules jumped to from INPUT for DHCP (spec 8.6).

The chain holds ``-m mac --mac-source <mac> -j ACCEPT|DROP`` rules for MACs whose verdict
differs from the default, then one final rule: ``ACCEPT`` (unknown MACs allowed), ``DROP``
(``deny_unknown_macs``) or ``REJECT`` (nothing to introspect and no discovery: DHCP closed).
``INPUT -i <interface> -p udp --dport 67|547 -j <chain>`` sends DHCP traffic to it.

Upstream rebuilds a temporary chain at every change, one process per rule. Here a change
inserts or deletes single rules: one ``iptables`` process for one rule, one
``iptables-restore --noflush`` batch (atomic) for more. Each full sync reads the chain back
with ``iptables -S`` and rebuilds it only when its content is not the driver's own.

Cost model (iptables-nft): inserting at the top is cheap whatever the chain's length, but a
deletion loads the chain and compares rules one by one (about a second per deletion near the
end of a 100,000-rule chain). A batch with more than ``REBUILD_AFTER`` deletions therefore
rewrites the whole chain in its one ``iptables-restore`` transaction (flush and refill: about
two seconds for 100,000 rules) instead.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from metalscope.pxe_filter.driver import DiffFilter, diff_filter
from metalscope.pxe_filter.policy import Changes, DesiredState, FilterState, Layout, Verdict
from metalscope.pxe_filter.processes import CommandRunner, Completed, checked, run_command
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient
    from metalscope.storage.repository import Repository

LOG = logging.getLogger(__name__)
TARGETS = {Verdict.ALLOW: "ACCEPT", Verdict.DENY: "DROP"}
VERDICTS = {target: verdict for verdict, target in TARGETS.items()}
REJECT = "REJECT"
REBUILD_AFTER = 16


@dataclass(frozen=True)
class ChainConfig:
    chain: str = "ironic-inspector"
    interface: str = "br-ctlplane"
    ip_version: str = "4"

    @classmethod
    def from_settings(cls, settings: Settings) -> ChainConfig:
        section = settings.iptables
        return cls(section.firewall_chain, section.dnsmasq_interface, section.ip_version)

    @property
    def binary(self) -> str:
        return "ip6tables" if self.ip_version == "6" else "iptables"

    @property
    def restore_binary(self) -> str:
        return f"{self.binary}-restore"

    @property
    def port(self) -> int:
        return 547 if self.ip_version == "6" else 67

    def jump(self, chain: str | None = None) -> list[str]:
        """The INPUT rule sending DHCP requests to the chain (without -I/-D/-C)."""
        return ["INPUT", "-i", self.interface, "-p", "udp", "--dport", str(self.port),
                "-j", chain or self.chain]


@dataclass
class ChainContent:
    """What the chain holds: per-MAC rules and the final target (None: no final rule yet)."""

    rules: dict[str, Verdict] = field(default_factory=dict)
    final: str | None = None


def final_target(desired: DesiredState) -> str:
    if desired.unknown is Verdict.ALLOW:
        return "ACCEPT"
    return REJECT if desired.dhcp_disabled else "DROP"


def mac_rule(mac: str, verdict: Verdict) -> list[str]:
    return ["-m", "mac", "--mac-source", mac, "-j", TARGETS[verdict]]


def parse_chain(listing: str, chain: str) -> ChainContent | None:
    """Parse ``iptables -S <chain>``; None when it holds anything this driver did not write."""
    content = ChainContent()
    for line in listing.splitlines():
        words = line.split()
        if not words or words == ["-N", chain]:
            continue
        if content.final is not None or words[:2] != ["-A", chain]:
            return None
        rule = words[2:]
        if len(rule) == 6 and rule[:3] == ["-m", "mac", "--mac-source"] and rule[4] == "-j":
            mac, verdict = rule[3].lower(), VERDICTS.get(rule[5])
            if verdict is None or mac in content.rules:
                return None
            content.rules[mac] = verdict
        elif rule[:2] == ["-j", REJECT] or rule in (["-j", "ACCEPT"], ["-j", "DROP"]):
            content.final = rule[1]
        else:
            return None
    return content


def deletions(changes: Changes, rules: Mapping[str, Verdict | None]) -> int:
    """How many existing rules ``changes`` delete (a rewrite is a deletion and an insertion)."""
    return sum(1 for mac in changes.remove | changes.write.keys() if rules.get(mac) is not None)


def rebuild_lines(rules: Mapping[str, Verdict | None], final: str, chain: str) -> list[str]:
    """``iptables-restore`` lines that flush the chain and write ``rules`` and the final rule."""
    lines = [f"-F {chain}"]
    lines += [" ".join(["-A", chain, *mac_rule(mac, v)]) for mac, v in rules.items() if v]
    lines.append(f"-A {chain} -j {final}")
    return lines


def change_lines(changes: Changes, rules: Mapping[str, Verdict | None], current_final: str | None,
                 final: str, chain: str) -> list[str]:
    """The rule edits that apply ``changes`` and the final target, as ``iptables-restore`` lines."""
    lines: list[str] = []
    for mac in sorted(changes.remove | set(changes.write)):
        old = rules.get(mac)
        if old is not None:
            lines.append(" ".join(["-D", chain, *mac_rule(mac, old)]))
        new = changes.write.get(mac)
        if new is not None:
            lines.append(" ".join(["-I", chain, "1", *mac_rule(mac, new)]))
    if final != current_final:
        if current_final is not None:
            lines.append(f"-D {chain} -j {current_final}")
        lines.append(f"-A {chain} -j {final}")
    return lines


class Chain:
    """The iptables backend of :class:`~metalscope.pxe_filter.driver.DiffFilter`."""

    name = "iptables"
    layout = Layout.CHAIN

    def __init__(self, config: ChainConfig, run: CommandRunner = run_command) -> None:
        self.config = config
        #: The per-MAC rules (``entries``) and the default, as the policy sees them.
        self.state = FilterState()
        #: The final rule's target (None: no final rule).
        self.final: str | None = None
        #: Processes started since start-up (for tests and the benchmark).
        self.commands = 0
        self._run = run
        self._wait: list[str] = []

    @classmethod
    def from_settings(cls, settings: Settings) -> Chain:
        return cls(ChainConfig.from_settings(settings))

    async def open(self, initial: bool) -> None:
        self._wait = ["-w"] if (await self._iptables("-w", "-h")).ok else []
        await self._drop_upstream_temp_chain()
        await self.verify()

    async def verify(self) -> None:
        """Read the chain back; adopt what it holds, rebuild it if foreign, restore the jump."""
        self._adopt(await self._read_or_rebuild())
        if not (await self._iptables("-C", *self.config.jump())).ok:
            checked(await self._iptables("-I", *self.config.jump()))

    async def _read_or_rebuild(self) -> ChainContent:
        listing = await self._iptables("-S", self.config.chain)
        if not listing.ok:
            checked(await self._iptables("-N", self.config.chain))
            return ChainContent()
        actual = parse_chain(listing.stdout, self.config.chain)
        if actual is None:
            LOG.warning("Chain %s holds rules this driver did not write, rebuilding it",
                        self.config.chain)
            checked(await self._iptables("-F", self.config.chain))
            return ChainContent()
        if actual.rules != self.state.entries or actual.final != self.final:
            LOG.info("Chain %s is not as last written, adopting its actual content",
                     self.config.chain)
        return actual

    async def apply(self, changes: Changes, desired: DesiredState) -> None:
        final = final_target(desired)
        if deletions(changes, self.state.entries) > REBUILD_AFTER:
            target = FilterState(dict(self.state.entries))
            changes.apply_to(target)
            lines = rebuild_lines(target.entries, final, self.config.chain)
        else:
            lines = change_lines(changes, self.state.entries, self.final, final, self.config.chain)
        if not lines:
            return
        if len(lines) == 1:
            checked(await self._iptables(*lines[0].split()))
        else:
            checked(await self._restore(lines))
        changes.apply_to(self.state)
        self.final = final
        self.state.unknown = _unknown_of(final)

    async def launch(self) -> None:
        return None

    async def close(self) -> None:
        """Remove the jump and the chain, as upstream's reset does (errors ignored)."""
        await self._iptables("-D", *self.config.jump())
        await self._iptables("-F", self.config.chain)
        await self._iptables("-X", self.config.chain)
        self._adopt(ChainContent())

    def _adopt(self, content: ChainContent) -> None:
        self.state = FilterState(dict[str, Verdict | None](content.rules),
                                 _unknown_of(content.final))
        self.final = content.final

    async def _drop_upstream_temp_chain(self) -> None:
        temp = f"{self.config.chain}_temp"
        if (await self._iptables("-S", temp)).ok:
            await self._iptables("-D", *self.config.jump(temp))
            await self._iptables("-F", temp)
            await self._iptables("-X", temp)

    async def _iptables(self, *args: str) -> Completed:
        self.commands += 1
        wait = self._wait if args[:2] != ("-w", "-h") else []
        return await self._run([self.config.binary, *wait, *args])

    async def _restore(self, lines: Sequence[str]) -> Completed:
        self.commands += 1
        text = "*filter\n" + "\n".join(lines) + "\nCOMMIT\n"
        return await self._run([self.config.restore_binary, *self._wait, "--noflush"],
                               stdin=text.encode())


def _unknown_of(final: str | None) -> Verdict | None:
    return None if final is None else VERDICTS.get(final, Verdict.DENY)


def iptables_filter(settings: Settings, repo: Repository | None,
                    ironic: IronicClient | None) -> DiffFilter:
    """The ``iptables`` driver (entry point of ``metalscope.pxe_filter_drivers``)."""
    return diff_filter(Chain.from_settings, settings, repo, ironic)
