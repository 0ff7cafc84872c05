"""The filter's rounds with ``full_sync_period`` set (the default): the whole walk first,
then only the changes and the rolling walk's pages that are due."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from metalscope.errors import IronicError
from metalscope.metrics import Metrics
from metalscope.pxe_filter.dnsmasq import UNKNOWN_HOSTS, HostsDir
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.storage.repository import Repository
from tests.unit.fake_collection import FakeCollection
from tests.unit.pxe_filter.conftest import (
    FakeRunner,
    end_introspection,
    filter_settings,
    start_introspection,
)

A, B, C, D = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c", "52:54:00:00:00:0d"
NODE_1 = "11111111-1111-4111-8111-111111111111"
ALLOWED, DENIED = "*:*:*:*:*:*\n", "*:*:*:*:*:*,ignore\n"
PERIOD = 600


class PagedIronic:
    """Ironic's port collection, paged as Ironic pages it; ``list_ports`` for the
    ``full_sync_period = 0`` filter."""

    def __init__(self, macs: list[str] = ()) -> None:  # type: ignore[assignment]
        self.metrics = Metrics()
        self.ports = FakeCollection()
        self.ports.now = datetime.datetime.now(datetime.UTC)  # the filter's feed reads the clock
        for mac in macs:
            self.ports.create(address=mac, extra={})
            self.ports.tick(2)

    async def list_page(self, path: str, key: str, params: Mapping[str, str],
                        ) -> tuple[list[dict[str, Any]], str | None]:
        assert (path, key) == ("/v1/ports", "ports")
        return await self.ports.list_page(params)

    async def list_ports(self, fields: Any = None) -> list[dict[str, Any]]:
        return [dict(p) for p in self.ports.items.values()]

    def uuid_of(self, mac: str) -> str:
        return next(u for u, p in self.ports.items.items() if p["address"] == mac)


def files(path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(path.iterdir())}


class Rig:
    def __init__(self, tmp_path: Path, repo: Repository, ironic: PagedIronic,
                 full_sync_period: int = PERIOD, name: str = "hosts") -> None:
        self.hosts = tmp_path / name
        self.hosts.mkdir()
        self.clock = [0.0]
        settings = filter_settings(pxe_filter={"driver": "dnsmasq",
                                               "full_sync_period": full_sync_period})
        self.backend = HostsDir(self.hosts, run=FakeRunner())
        self.pxe = DiffFilter(self.backend, settings, repo, ironic,  # type: ignore[arg-type]
                              clock=lambda: self.clock[0])

    def advance(self, seconds: float) -> None:
        self.clock[0] += seconds


@pytest.fixture
def ironic() -> PagedIronic:
    return PagedIronic([A, B])


async def test_first_round_reads_every_port_before_writing(tmp_path: Path, repo: Repository,
                                                           ironic: PagedIronic) -> None:
    big = PagedIronic([f"52:54:00:01:{i // 256:02x}:{i % 256:02x}" for i in range(2500)])
    rig = Rig(tmp_path, repo, big)
    await rig.pxe.start()
    written = files(rig.hosts)
    assert len(written) == 2501 and written[UNKNOWN_HOSTS] == DENIED
    # Two feed requests (priming), then the whole walk: 1000 + 1000 + 500.
    assert [r["sort_key"] for r in big.ports.requests] == ["updated_at", "id",
                                                          "uuid", "uuid", "uuid"]
    assert rig.pxe.ports.complete


async def test_idle_round_is_two_small_requests_and_writes_nothing(
        tmp_path: Path, repo: Repository, ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    await rig.pxe.reconcile()  # the ports enrolled within the overlap, once more
    written = rig.backend.files_written
    for _ in range(3):
        rig.advance(15)
        ironic.ports.tick(15)
        ironic.ports.requests.clear()
        await rig.pxe.reconcile()
        assert [(r["sort_key"], r["limit"]) for r in ironic.ports.requests] == [
            ("updated_at", "50"), ("id", "50")]
    assert rig.backend.files_written == written


async def test_new_port_is_filtered_at_the_next_round(tmp_path: Path, repo: Repository,
                                                      ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    await start_introspection(repo, NODE_1, [A])
    await rig.pxe.allow({A})
    assert C not in files(rig.hosts) and files(rig.hosts)[UNKNOWN_HOSTS] == ALLOWED
    rig.advance(15)
    ironic.ports.tick(15)
    ironic.ports.create(address=C, extra={})
    await rig.pxe.reconcile()
    assert files(rig.hosts)[C] == f"{C},ignore\n"


async def test_changed_address_is_filtered_at_the_next_round(tmp_path: Path, repo: Repository,
                                                             ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    await start_introspection(repo, NODE_1, [A])
    await rig.pxe.allow({A})
    rig.advance(15)
    ironic.ports.tick(15)
    ironic.ports.update(ironic.uuid_of(B), address=D)
    await rig.pxe.reconcile()
    # B is no longer Ironic's: unknown, allowed while an introspection runs (its file
    # rewritten to the unknown policy); D is Ironic's and not introspected: denied.
    assert files(rig.hosts) == {A: f"{A}\n", B: f"{B}\n", D: f"{D},ignore\n",
                                UNKNOWN_HOSTS: ALLOWED}


async def test_deleted_port_is_forgotten_within_the_period(tmp_path: Path, repo: Repository,
                                                           ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    await start_introspection(repo, NODE_1, [A])
    await rig.pxe.allow({A})
    ironic.ports.delete(ironic.uuid_of(B))
    rig.advance(15)
    await rig.pxe.reconcile()
    assert files(rig.hosts)[B] == f"{B},ignore\n"  # not seen yet: no page was due
    rig.advance(PERIOD)
    await rig.pxe.reconcile()
    assert files(rig.hosts)[B] == f"{B}\n"  # unknown now, allowed during introspection


async def test_ironic_down_skips_the_round_and_the_next_catches_up(
        tmp_path: Path, repo: Repository, ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    written = rig.backend.files_written
    ironic.ports.tick(15)
    ironic.ports.create(address=C, extra={})
    ironic.ports.fail = IronicError("Cannot reach Ironic: connection refused")
    await rig.pxe.reconcile()
    assert rig.backend.files_written == written and C not in files(rig.hosts)
    ironic.ports.fail = None
    await rig.pxe.reconcile()
    assert files(rig.hosts)[C] == f"{C},ignore\n"


async def test_first_walk_failing_half_way_writes_nothing_until_complete(
        tmp_path: Path, repo: Repository) -> None:
    big = PagedIronic([f"52:54:00:02:{i // 256:02x}:{i % 256:02x}" for i in range(1500)])
    rig = Rig(tmp_path, repo, big)
    original = big.ports.list_page
    calls = 0

    async def second_page_fails(params: Mapping[str, str]) -> Any:
        nonlocal calls
        if params.get("sort_key") == "uuid":
            calls += 1
            if calls == 2:
                raise IronicError("Service Unavailable", 503)
        return await original(params)
    big.ports.list_page = second_page_fails  # type: ignore[method-assign]
    await rig.pxe.start()
    assert files(rig.hosts) == {} and not rig.pxe.ports.complete
    await rig.pxe.reconcile()
    assert len(files(rig.hosts)) == 1501
    assert calls == 3  # the failed page again, not the first one


async def test_same_output_as_listing_every_port(tmp_path: Path, repo: Repository) -> None:
    """The same story told to a filter that lists every port at every round and to one
    that reads changes, after each has seen the deletion (one period): same files."""
    ironic = PagedIronic([A, B, C])
    rigs = [Rig(tmp_path, repo, ironic, 0, "full"), Rig(tmp_path, repo, ironic, PERIOD, "feed")]
    for rig in rigs:
        await rig.pxe.start()
    await start_introspection(repo, NODE_1, [A, D])
    for rig in rigs:
        await rig.pxe.allow({A, D})
    ironic.ports.tick(20)
    ironic.ports.create(address=D, extra={})
    ironic.ports.delete(ironic.uuid_of(C))
    ironic.ports.update(ironic.uuid_of(B), extra={"client-id": "ff:00"})
    for rig in rigs:
        rig.advance(PERIOD + 15)
        await rig.pxe.reconcile()
    assert files(rigs[0].hosts) == files(rigs[1].hosts)
    await end_introspection(repo, NODE_1)
    for rig in rigs:
        await rig.pxe.deny({A, D})
        rig.advance(15)
        await rig.pxe.reconcile()
    assert files(rigs[0].hosts) == files(rigs[1].hosts) == {
        A: f"{A},ignore\n", B: f"{B},ignore\n", C: f"{C},ignore\n", D: f"{D},ignore\n",
        UNKNOWN_HOSTS: DENIED}


async def test_macs_are_recomputed_only_when_a_port_changed(
        tmp_path: Path, repo: Repository, ironic: PagedIronic) -> None:
    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    settings = filter_settings()
    macs, _ = rig.pxe.ports.macs(settings)
    rig.advance(15)
    await rig.pxe.reconcile()
    assert rig.pxe.ports.macs(settings)[0] is macs  # nothing changed: the same set
    ironic.ports.tick(15)
    ironic.ports.update(ironic.uuid_of(A), extra={"note": "x"})
    await rig.pxe.reconcile()
    assert rig.pxe.ports.macs(settings)[0] is not macs
    assert rig.pxe.ports.macs(settings)[0] == macs == {A, B}


async def test_an_idle_round_plans_nothing_until_something_changes(
        tmp_path: Path, repo: Repository, ironic: PagedIronic,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Same Ironic ports, same records, same settings: the verdicts are not computed again
    (at 100,000 ports that is most of an idle round's own CPU); any change, an allow/deny or
    ``full_sync_period`` passing plans everything again."""
    from metalscope.pxe_filter import driver

    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    planned: list[int] = []
    real = driver.desired_state

    def counting(inputs: Any) -> Any:
        planned.append(len(inputs.ironic_macs))
        return real(inputs)

    monkeypatch.setattr(driver, "desired_state", counting)
    for _ in range(3):
        rig.advance(15)
        ironic.ports.tick(15)
        await rig.pxe.reconcile()
    rounds_when_idle = len(planned)
    assert rounds_when_idle <= 1  # the ports enrolled within the overlap are read once more
    ironic.ports.create(address=C, extra={})
    ironic.ports.tick(15)
    rig.advance(15)
    await rig.pxe.reconcile()
    assert len(planned) == rounds_when_idle + 1 and files(rig.hosts)[C] == f"{C},ignore\n"
    await start_introspection(repo, NODE_1, [A])
    await rig.pxe.allow({A})
    rig.advance(15)
    await rig.pxe.reconcile()
    assert files(rig.hosts)[A] == f"{A}\n"
    before = len(planned)
    rig.advance(15)
    await rig.pxe.reconcile()
    assert len(planned) == before  # settled again
    rig.advance(PERIOD)
    await rig.pxe.reconcile()
    assert len(planned) == before + 1  # the period passed: everything planned again


async def test_an_idle_round_still_repairs_what_the_backend_found_changed(
        tmp_path: Path, repo: Repository, ironic: PagedIronic) -> None:
    """A backend whose verify adopts what it actually holds (iptables reads its chain back)
    and finds an entry gone gets everything planned again, inputs unchanged or not."""
    from metalscope.pxe_filter.policy import FilterState

    rig = Rig(tmp_path, repo, ironic)
    await rig.pxe.start()
    for _ in range(2):
        rig.advance(15)
        ironic.ports.tick(15)
        await rig.pxe.reconcile()
    assert files(rig.hosts)[A] == f"{A},ignore\n"

    async def adopting_verify() -> None:  # the file of A was deleted by hand
        (rig.hosts / A).unlink(missing_ok=True)
        entries = dict(rig.backend.state.entries)
        entries.pop(A, None)
        rig.backend.state = FilterState(entries, rig.backend.state.unknown)

    rig.backend.verify = adopting_verify  # type: ignore[method-assign]
    rig.advance(15)
    ironic.ports.tick(15)
    await rig.pxe.reconcile()
    assert files(rig.hosts)[A] == f"{A},ignore\n"
