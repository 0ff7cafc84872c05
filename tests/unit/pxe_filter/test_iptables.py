"""The iptables filter against a command runner that records argv (no real iptables here;
tests/integration/test_pxe_iptables.py runs the real one in a network namespace)."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.pxe_filter.driver import DiffFilter
from metalscope.pxe_filter.iptables import (
    REBUILD_AFTER,
    Chain,
    ChainConfig,
    ChainContent,
    change_lines,
    deletions,
    parse_chain,
)
from metalscope.pxe_filter.policy import Changes, DesiredState, FilterState, Verdict
from metalscope.pxe_filter.processes import Completed
from metalscope.pxe_filter.spec import PXEFilterError
from metalscope.storage.repository import Repository
from tests.unit.pxe_filter.conftest import (
    FakeRunner,
    PortsIronic,
    end_introspection,
    filter_settings,
    start_introspection,
)

A, B, C = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c"
NODE_1 = "11111111-1111-4111-8111-111111111111"
CHAIN = "ironic-inspector"
JUMP = ["INPUT", "-i", "br-ctlplane", "-p", "udp", "--dport", "67", "-j", CHAIN]


def has(*words: str) -> Any:
    return lambda argv: all(w in argv for w in words)


def failed(argv: list[str]) -> Completed:
    return Completed(tuple(argv), 1, "", "iptables: No chain/target/match by that name.")


def listing(*rules: str) -> Any:
    text = "\n".join([f"-N {CHAIN}", *(f"-A {CHAIN} {r}" for r in rules)]) + "\n"
    return lambda argv: Completed(tuple(argv), 0, text)


def fresh_host(runner: FakeRunner) -> None:
    """No chain yet, no jump yet; -w supported."""
    runner.on(has("-S"), failed)
    runner.on(has("-C"), failed)


def make_filter(repo: Repository, ironic: PortsIronic, runner: FakeRunner,
                **sections: dict[str, Any]) -> tuple[DiffFilter, Chain]:
    settings = filter_settings(**{"pxe_filter": {"driver": "iptables"}, **sections})
    backend = Chain(ChainConfig.from_settings(settings), run=runner)
    return DiffFilter(backend, settings, repo, ironic), backend  # type: ignore[arg-type]


class TestParse:
    def test_rules_and_final_target(self) -> None:
        text = (f"-N {CHAIN}\n-A {CHAIN} -m mac --mac-source 52:54:00:00:00:0A -j DROP\n"
                f"-A {CHAIN} -m mac --mac-source {B} -j ACCEPT\n"
                f"-A {CHAIN} -j REJECT --reject-with icmp-port-unreachable\n")
        assert parse_chain(text, CHAIN) == ChainContent(
            {A: Verdict.DENY, B: Verdict.ALLOW}, "REJECT")

    def test_empty_chain(self) -> None:
        assert parse_chain(f"-N {CHAIN}\n", CHAIN) == ChainContent()

    @pytest.mark.parametrize("rules", [
        ["-j ACCEPT", f"-m mac --mac-source {A} -j DROP"],      # rule after the final one
        [f"-m mac --mac-source {A} -j DROP"] * 2,                # duplicate
        ["-p tcp --dport 22 -j ACCEPT"],                         # foreign rule
        [f"-m mac --mac-source {A} -j LOG"],                     # foreign target
    ])
    def test_foreign_content(self, rules: list[str]) -> None:
        text = "\n".join([f"-N {CHAIN}", *(f"-A {CHAIN} {r}" for r in rules)])
        assert parse_chain(text, CHAIN) is None


class TestChangeLines:
    def test_insert_delete_replace_and_final(self) -> None:
        changes = Changes(write={A: Verdict.DENY, C: Verdict.ALLOW}, remove=frozenset({B}))
        lines = change_lines(changes, {B: Verdict.DENY, C: Verdict.DENY}, "REJECT", "ACCEPT", CHAIN)
        assert lines == [
            f"-I {CHAIN} 1 -m mac --mac-source {A} -j DROP",
            f"-D {CHAIN} -m mac --mac-source {B} -j DROP",
            f"-D {CHAIN} -m mac --mac-source {C} -j DROP",
            f"-I {CHAIN} 1 -m mac --mac-source {C} -j ACCEPT",
            f"-D {CHAIN} -j REJECT",
            f"-A {CHAIN} -j ACCEPT",
        ]

    def test_nothing_to_do(self) -> None:
        assert change_lines(Changes(), {A: Verdict.DENY}, "DROP", "DROP", CHAIN) == []


class TestRebuild:
    async def test_many_deletions_rewrite_the_chain_in_one_batch(self, runner: FakeRunner) -> None:
        """Deleting a rule costs a scan of the chain; past REBUILD_AFTER, flush and refill."""
        macs = [f"52:54:00:00:01:{i:02x}" for i in range(REBUILD_AFTER + 1)]
        chain = Chain(ChainConfig(), run=runner)
        chain.state = FilterState(dict.fromkeys([*macs, A], Verdict.DENY), Verdict.ALLOW)
        chain.final = "ACCEPT"
        desired = DesiredState({*macs, A, B}, set(macs), Verdict.ALLOW, dhcp_disabled=False)
        await chain.apply(Changes(write={B: Verdict.DENY}, remove=frozenset(macs)), desired)
        assert runner.argvs == [["iptables-restore", "--noflush"]]
        assert runner.calls[0][1] == (f"*filter\n-F {CHAIN}\n"
                                      f"-A {CHAIN} -m mac --mac-source {A} -j DROP\n"
                                      f"-A {CHAIN} -m mac --mac-source {B} -j DROP\n"
                                      f"-A {CHAIN} -j ACCEPT\nCOMMIT\n")
        assert chain.state.entries == {A: Verdict.DENY, B: Verdict.DENY}

    def test_deletions_count_rewrites(self) -> None:
        changes = Changes(write={A: Verdict.ALLOW, B: Verdict.DENY}, remove=frozenset({C}))
        assert deletions(changes, {A: Verdict.DENY, C: Verdict.DENY}) == 2


class TestOpen:
    async def test_fresh_host_creates_chain_and_jump_with_wait(self, runner: FakeRunner) -> None:
        fresh_host(runner)
        chain = Chain(ChainConfig(), run=runner)
        await chain.open(initial=True)
        assert runner.argvs == [
            ["iptables", "-w", "-h"],
            ["iptables", "-w", "-S", f"{CHAIN}_temp"],
            ["iptables", "-w", "-S", CHAIN],
            ["iptables", "-w", "-N", CHAIN],
            ["iptables", "-w", "-C", *JUMP],
            ["iptables", "-w", "-I", *JUMP],
        ]

    async def test_no_wait_flag_when_unsupported(self, runner: FakeRunner) -> None:
        fresh_host(runner)
        runner.on(has("-h"), failed)
        await Chain(ChainConfig(), run=runner).open(initial=True)
        assert all("-w" not in argv for argv in runner.argvs[1:])

    async def test_existing_chain_is_adopted(self, runner: FakeRunner) -> None:
        runner.on(has("-S", CHAIN), listing(f"-m mac --mac-source {A} -j DROP", "-j ACCEPT"))
        runner.on(has("-S", f"{CHAIN}_temp"), failed)
        chain = Chain(ChainConfig(), run=runner)
        await chain.open(initial=True)
        assert chain.state.entries == {A: Verdict.DENY} and chain.final == "ACCEPT"
        assert ["iptables", "-w", "-N", CHAIN] not in runner.argvs
        assert ["iptables", "-w", "-I", *JUMP] not in runner.argvs  # -C found the jump

    async def test_foreign_chain_is_flushed(self, runner: FakeRunner) -> None:
        runner.on(has("-S", CHAIN), listing("-p tcp -j ACCEPT"))
        runner.on(has("-S", f"{CHAIN}_temp"), failed)
        chain = Chain(ChainConfig(), run=runner)
        await chain.open(initial=True)
        assert ["iptables", "-w", "-F", CHAIN] in runner.argvs and chain.final is None

    async def test_upstream_temp_chain_is_removed(self, runner: FakeRunner) -> None:
        runner.on(has("-S", CHAIN), listing())
        await Chain(ChainConfig(), run=runner).open(initial=True)
        temp = f"{CHAIN}_temp"
        assert ["iptables", "-w", "-D", *JUMP[:-1], temp] in runner.argvs
        assert ["iptables", "-w", "-X", temp] in runner.argvs

    async def test_ipv6_interface_and_chain_options(self, runner: FakeRunner) -> None:
        fresh_host(runner)
        await Chain(ChainConfig("pxe", "eth7", "6"), run=runner).open(initial=True)
        assert runner.argvs[-1] == ["ip6tables", "-w", "-I", "INPUT", "-i", "eth7", "-p", "udp",
                                    "--dport", "547", "-j", "pxe"]


class TestDriver:
    async def test_idle_start_closes_dhcp_with_one_reject_rule(self, repo: Repository,
                                                              runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, chain = make_filter(repo, PortsIronic([A, B]), runner)
        await pxe.start()
        # idle, no discovery: DHCP closed by a single REJECT rule (spec 8.6 step 1)
        assert runner.argvs[-1] == ["iptables", "-w", "-A", CHAIN, "-j", "REJECT"]
        assert chain.final == "REJECT" and chain.state.entries == {}

    async def test_allow_and_deny_are_single_rule_edits(self, repo: Repository,
                                                        runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, chain = make_filter(repo, PortsIronic([A, B, C]), runner)
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        runner.clear()
        await pxe.allow({A})
        # unknown MACs open now: DROP rules for the idle MACs, final ACCEPT, in one batch
        assert len(runner.calls) == 1
        argv, stdin = runner.calls[0]
        assert argv == ["iptables-restore", "-w", "--noflush"]
        assert stdin == (f"*filter\n-I {CHAIN} 1 -m mac --mac-source {B} -j DROP\n"
                         f"-I {CHAIN} 1 -m mac --mac-source {C} -j DROP\n"
                         f"-D {CHAIN} -j REJECT\n-A {CHAIN} -j ACCEPT\nCOMMIT\n")
        await start_introspection(repo, "22222222-2222-4222-8222-222222222222", [B])
        runner.clear()
        await pxe.allow({B})
        assert runner.argvs == [["iptables", "-w", "-D", CHAIN, "-m", "mac", "--mac-source", B,
                                 "-j", "DROP"]]
        await end_introspection(repo, NODE_1)
        runner.clear()
        await pxe.deny({A})
        assert runner.argvs == [["iptables", "-w", "-I", CHAIN, "1", "-m", "mac",
                                 "--mac-source", A, "-j", "DROP"]]
        assert chain.state.entries == {A: Verdict.DENY, C: Verdict.DENY}

    async def test_last_introspection_ending_only_swaps_the_final_rule(
            self, repo: Repository, runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, chain = make_filter(repo, PortsIronic([A, B]), runner)
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        await end_introspection(repo, NODE_1)
        runner.clear()
        await pxe.deny({A})
        _, stdin = runner.calls[0]
        assert stdin == f"*filter\n-D {CHAIN} -j ACCEPT\n-A {CHAIN} -j REJECT\nCOMMIT\n"
        assert chain.state.entries == {B: Verdict.DENY}, "B's rule is redundant but kept"

    async def test_deny_unknown_macs_keeps_an_allow_list(self, repo: Repository,
                                                         runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, _chain = make_filter(repo, PortsIronic([A, B]), runner,
                                  pxe_filter={"driver": "iptables", "deny_unknown_macs": True})
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        runner.clear()
        await pxe.allow({A})
        _, stdin = runner.calls[0]
        assert stdin == (f"*filter\n-I {CHAIN} 1 -m mac --mac-source {A} -j ACCEPT\n"
                         f"-D {CHAIN} -j REJECT\n-A {CHAIN} -j DROP\nCOMMIT\n")

    async def test_reconcile_without_changes_only_reads(self, repo: Repository,
                                                        runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, _chain = make_filter(repo, PortsIronic([A, B]), runner)
        await pxe.start()
        runner.on(has("-S", CHAIN), listing("-j REJECT --reject-with icmp-port-unreachable"))
        runner.on(has("-C"), Completed((), 0))
        runner.clear()
        await pxe.reconcile()
        assert runner.argvs == [["iptables", "-w", "-S", CHAIN], ["iptables", "-w", "-C", *JUMP]]

    async def test_reconcile_repairs_drift_minimally(self, repo: Repository,
                                                     runner: FakeRunner) -> None:
        """Someone deleted a rule: only that rule is put back."""
        fresh_host(runner)
        pxe, _chain = make_filter(repo, PortsIronic([A, B, C]), runner)
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        runner.on(has("-S", CHAIN), listing(f"-m mac --mac-source {C} -j DROP", "-j ACCEPT"))
        runner.on(has("-C"), Completed((), 0))
        runner.clear()
        await pxe.reconcile()
        assert runner.argvs[2:] == [["iptables", "-w", "-I", CHAIN, "1", "-m", "mac",
                                     "--mac-source", B, "-j", "DROP"]]

    async def test_failure_reinitialises_at_next_call(self, repo: Repository,
                                                      runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, chain = make_filter(repo, PortsIronic([A, B]), runner)
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        runner.on(has("iptables-restore"), lambda argv: Completed(tuple(argv), 4, "",
                                                                  "Another app holds the lock"))
        with pytest.raises(PXEFilterError, match="holds the lock"):
            await pxe.allow({A})
        runner.responses.pop(0)
        runner.on(has("-S", CHAIN), listing("-j REJECT --reject-with icmp-port-unreachable"))
        runner.clear()
        await pxe.allow({A})
        assert runner.argvs[0] == ["iptables", "-w", "-h"]  # re-opened
        assert chain.final == "ACCEPT" and chain.state.entries == {B: Verdict.DENY}

    async def test_stop_removes_jump_and_chain(self, repo: Repository, runner: FakeRunner) -> None:
        fresh_host(runner)
        pxe, _ = make_filter(repo, PortsIronic([A]), runner)
        await pxe.start()
        runner.clear()
        await pxe.stop()
        assert runner.argvs == [["iptables", "-w", "-D", *JUMP], ["iptables", "-w", "-F", CHAIN],
                                ["iptables", "-w", "-X", CHAIN]]
