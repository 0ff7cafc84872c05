"""The pure PXE filter policy: desired verdicts (spec 8.6/8.7/8.8) and minimal diffs."""

from __future__ import annotations

import random
from collections.abc import Set

import pytest

from metalscope.pxe_filter.policy import (
    Changes,
    FilterInputs,
    FilterState,
    Layout,
    Verdict,
    desired_state,
    plan,
    unknown_verdict,
)

A, B, C, D = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c", "52:54:00:00:00:0d"
ALLOW, DENY = Verdict.ALLOW, Verdict.DENY


def inputs(ironic: set[str], active: Set[str] = frozenset(), busy: bool | None = None,
           discovery: bool = False, deny_unknown: bool = False) -> FilterInputs:
    return FilterInputs(ironic_macs=frozenset(ironic), active_macs=frozenset(active),
                        introspection_active=bool(active) if busy is None else busy,
                        discovery=discovery, deny_unknown_macs=deny_unknown)


class TestDesiredState:
    def test_active_ironic_macs_allowed_others_denied(self) -> None:
        desired = desired_state(inputs({A, B, C}, active={A, D}))
        assert desired.allow == {A} and desired.deny == {B, C}
        assert [desired.verdict(m) for m in (A, B, D)] == [ALLOW, DENY, ALLOW]

    def test_active_mac_unknown_to_ironic_follows_the_unknown_policy(self) -> None:
        """Spec 8.7 step 1: only active MACs Ironic knows get an allow entry."""
        desired = desired_state(inputs({A}, active={D}, deny_unknown=True))
        assert desired.allow == frozenset() and desired.verdict(D) is DENY

    @pytest.mark.parametrize(("busy", "discovery", "deny_unknown", "expected"), [
        (False, False, False, DENY),
        (True, False, False, ALLOW),
        (False, True, False, ALLOW),
        (True, False, True, DENY),
        (False, True, True, DENY),
    ])
    def test_unknown_verdict(self, busy: bool, discovery: bool, deny_unknown: bool,
                             expected: Verdict) -> None:
        assert unknown_verdict(busy, discovery, deny_unknown) is expected

    def test_dhcp_disabled_only_when_idle_without_discovery(self) -> None:
        assert desired_state(inputs({A}, busy=False)).dhcp_disabled
        assert not desired_state(inputs({A}, busy=True)).dhcp_disabled
        assert not desired_state(inputs({A}, busy=False, discovery=True)).dhcp_disabled

    def test_node_without_ports_opens_unknown_macs(self) -> None:
        """An introspection of a port-less node is active without any active MAC."""
        desired = desired_state(inputs({A}, active=set(), busy=True))
        assert desired.unknown is ALLOW and desired.verdict(A) is DENY

    def test_sets_are_referenced_not_copied(self) -> None:
        ironic = {A}
        desired = desired_state(FilterInputs(ironic_macs=ironic, active_macs=set(),
                                             introspection_active=False, discovery=False,
                                             deny_unknown_macs=False))
        ironic.add(B)
        assert desired.verdict(B) is DENY


class TestHostsdirPlan:
    def test_empty_directory_gets_every_mac_and_the_wildcard(self) -> None:
        changes = plan(desired_state(inputs({A, B}, active={A})), FilterState(), Layout.HOSTSDIR)
        assert changes == Changes(write={A: ALLOW, B: DENY}, unknown=ALLOW)

    def test_nothing_to_do_when_applied(self) -> None:
        applied = FilterState({A: ALLOW, B: DENY}, ALLOW)
        assert not plan(desired_state(inputs({A, B}, active={A})), applied, Layout.HOSTSDIR)

    def test_only_changed_macs_are_written(self) -> None:
        applied = FilterState({A: ALLOW, B: DENY, C: DENY}, ALLOW)
        changes = plan(desired_state(inputs({A, B, C}, active={B})), applied, Layout.HOSTSDIR)
        assert changes == Changes(write={A: DENY, B: ALLOW})

    def test_removed_ports_keep_a_file_with_the_unknown_policy(self) -> None:
        """dnsmasq ignores deletions: a MAC gone from Ironic is rewritten, not removed."""
        applied = FilterState({A: DENY, D: DENY}, DENY)
        changes = plan(desired_state(inputs({A}, active={A})), applied, Layout.HOSTSDIR)
        assert changes == Changes(write={A: ALLOW, D: ALLOW}, unknown=ALLOW)
        assert changes.remove == frozenset()

    def test_unreadable_entries_are_rewritten(self) -> None:
        applied = FilterState({A: None, B: DENY}, None)
        changes = plan(desired_state(inputs({A, B}, busy=False)), applied, Layout.HOSTSDIR)
        assert changes == Changes(write={A: DENY}, unknown=DENY)

    def test_scope_limits_the_comparison(self) -> None:
        applied = FilterState({A: DENY, B: ALLOW}, ALLOW)
        desired = desired_state(inputs({A, B}, active={A}))
        assert plan(desired, applied, Layout.HOSTSDIR, scope={A}) == Changes(write={A: ALLOW})

    def test_scope_ignores_macs_neither_known_nor_written(self) -> None:
        desired = desired_state(inputs({A}, active={A}))
        assert not plan(desired, FilterState({A: ALLOW}, ALLOW), Layout.HOSTSDIR, scope={D})


class TestChainPlan:
    def test_default_accept_lists_denied_macs_only(self) -> None:
        changes = plan(desired_state(inputs({A, B, C}, active={A})), FilterState(), Layout.CHAIN)
        assert changes == Changes(write={B: DENY, C: DENY}, unknown=ALLOW)

    def test_deny_unknown_lists_allowed_macs_only(self) -> None:
        changes = plan(desired_state(inputs({A, B}, active={A}, deny_unknown=True)),
                       FilterState(), Layout.CHAIN)
        assert changes == Changes(write={A: ALLOW}, unknown=DENY)

    def test_finished_mac_gets_its_deny_rule_back(self) -> None:
        applied = FilterState({B: DENY}, ALLOW)
        changes = plan(desired_state(inputs({A, B}, active=set(), busy=True)), applied,
                       Layout.CHAIN)
        assert changes == Changes(write={A: DENY})

    def test_started_mac_loses_its_deny_rule(self) -> None:
        applied = FilterState({A: DENY, B: DENY}, ALLOW)
        changes = plan(desired_state(inputs({A, B}, active={A})), applied, Layout.CHAIN)
        assert changes == Changes(remove=frozenset({A}))

    def test_disabling_keeps_redundant_deny_rules(self) -> None:
        """Idle: every MAC is denied by default; existing DROP rules agree and stay."""
        applied = FilterState({A: DENY, B: DENY}, ALLOW)
        changes = plan(desired_state(inputs({A, B}, busy=False)), applied, Layout.CHAIN)
        assert changes == Changes(unknown=DENY)

    def test_rules_of_macs_gone_from_ironic_are_removed(self) -> None:
        applied = FilterState({A: DENY, D: DENY}, DENY)
        changes = plan(desired_state(inputs({A}, busy=False)), applied, Layout.CHAIN)
        assert changes == Changes(remove=frozenset({D}))

    def test_stale_allow_rule_removed_when_deny_is_the_default(self) -> None:
        applied = FilterState({A: ALLOW}, DENY)
        changes = plan(desired_state(inputs({A}, busy=True, deny_unknown=True)), applied,
                       Layout.CHAIN)
        assert changes == Changes(remove=frozenset({A}))


class TestChanges:
    def test_apply_to_updates_in_place(self) -> None:
        state = FilterState({A: DENY, B: DENY}, DENY)
        entries = state.entries
        Changes(write={C: ALLOW}, remove=frozenset({A}), unknown=ALLOW).apply_to(state)
        assert state.entries is entries and state == FilterState({B: DENY, C: ALLOW}, ALLOW)

    def test_truthiness(self) -> None:
        assert not Changes() and Changes(unknown=DENY) and Changes(remove=frozenset({A}))


@pytest.mark.parametrize("layout", list(Layout))
@pytest.mark.parametrize("seed", range(40))
def test_full_plan_matches_mac_by_mac_plan(layout: Layout, seed: int) -> None:
    """The set-based full plan and the per-MAC plan agree on random states."""
    rng = random.Random(seed)
    universe = [f"52:54:00:00:00:{i:02x}" for i in range(30)]
    ironic = {m for m in universe if rng.random() < 0.7}
    active = {m for m in universe if rng.random() < 0.2}
    entries = {m: rng.choice([ALLOW, DENY, None]) for m in universe if rng.random() < 0.6}
    applied = FilterState(entries, rng.choice([ALLOW, DENY, None]))
    desired = desired_state(inputs(ironic, active, busy=rng.random() < 0.7,
                                   deny_unknown=rng.random() < 0.3))
    everything = set(entries) | ironic
    assert plan(desired, applied, layout) == plan(desired, applied, layout, scope=everything)
