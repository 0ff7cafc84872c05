"""The dnsmasq filter over a real directory: file format, purge, locking, incremental writes."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from metalscope.metrics import Metrics, render
from metalscope.pxe_filter import dnsmasq
from metalscope.pxe_filter.dnsmasq import (
    UNKNOWN_HOSTS,
    HostsDir,
    entry_text,
    purge_hostsdir,
    read_hostsdir,
    verdict_from_size,
    write_locked,
)
from metalscope.pxe_filter.driver import DiffFilter
from metalscope.pxe_filter.policy import FilterState, Verdict
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

A, B, C, D = "52:54:00:00:00:0a", "52:54:00:00:00:0b", "52:54:00:00:00:0c", "52:54:00:00:00:0d"
NODE_1, NODE_2 = "11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222"
ALLOWED, DENIED = "*:*:*:*:*:*\n", "*:*:*:*:*:*,ignore\n"


def files(path: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(path.iterdir())}


def make_filter(path: Path, repo: Repository, ironic: PortsIronic, runner: FakeRunner | None = None,
                **options: Any) -> tuple[DiffFilter, HostsDir]:
    options = {"dhcp_hostsdir": str(path), **options}
    settings = filter_settings(pxe_filter={"driver": "dnsmasq"}, dnsmasq_pxe_filter=options)
    section = settings.dnsmasq_pxe_filter
    backend = HostsDir(path, section.purge_dhcp_hostsdir, section.dnsmasq_start_command,
                       section.dnsmasq_stop_command, run=runner or FakeRunner())
    return DiffFilter(backend, settings, repo, ironic), backend  # type: ignore[arg-type]


@pytest.fixture
def hosts(tmp_path: Path) -> Path:
    """The hostsdir (beside, not around, the test's SQLite file: purge empties it)."""
    path = tmp_path / "hosts"
    path.mkdir()
    return path


class TestFileFormat:
    def test_entries(self) -> None:
        assert entry_text(A, Verdict.ALLOW) == f"{A}\n"
        assert entry_text(A, Verdict.DENY) == f"{A},ignore\n"

    def test_policy_from_size(self) -> None:
        """18 bytes: allowed MAC, 25: denied MAC (spec 8.7); 12/19 for the wildcard."""
        assert verdict_from_size(A, 18) is Verdict.ALLOW
        assert verdict_from_size(A, 25) is Verdict.DENY
        assert verdict_from_size(A, 0) is None
        assert verdict_from_size("*:*:*:*:*:*", 19) is Verdict.DENY

    def test_read_directory(self, tmp_path: Path) -> None:
        (tmp_path / A).write_text(f"{A}\n")
        (tmp_path / B).write_text(f"{B},ignore\n")
        (tmp_path / C).write_text("")
        (tmp_path / UNKNOWN_HOSTS).write_text(ALLOWED)
        (tmp_path / "static-hosts").write_text("anything\n")
        assert read_hostsdir(tmp_path) == FilterState(
            {A: Verdict.ALLOW, B: Verdict.DENY, C: None}, Verdict.ALLOW)

    def test_purge_deletes_every_file(self, tmp_path: Path) -> None:
        for name in (A, UNKNOWN_HOSTS, "other"):
            (tmp_path / name).write_text("x\n")
        assert purge_hostsdir(tmp_path) == 3 and not list(tmp_path.iterdir())


class TestWriteLocked:
    def test_rewrites_in_place(self, tmp_path: Path) -> None:
        path = tmp_path / A
        path.write_text(f"{A},ignore\n")
        inode = path.stat().st_ino
        assert write_locked(path, f"{A}\n")
        assert path.read_text() == f"{A}\n" and path.stat().st_ino == inode

    def test_gives_up_when_locked(self, tmp_path: Path) -> None:
        path = tmp_path / A
        path.write_text(f"{A},ignore\n")
        with path.open("rb") as held:
            fcntl.flock(held, fcntl.LOCK_EX)
            assert not write_locked(path, f"{A}\n", attempts=3, delay=0)
        assert path.read_text() == f"{A},ignore\n"


class TestLifeCycle:
    async def test_start_purges_syncs_then_runs_start_command(self, hosts: Path,
                                                              repo: Repository) -> None:
        (hosts / D).write_text(f"{D}\n")
        runner = FakeRunner()
        pxe, backend = make_filter(hosts, repo, PortsIronic([A, B]), runner,
                                   dnsmasq_start_command="systemctl start dnsmasq-inspector")
        await pxe.start()
        assert files(hosts) == {A: f"{A},ignore\n", B: f"{B},ignore\n", UNKNOWN_HOSTS: DENIED}
        assert runner.argvs == [["systemctl", "start", "dnsmasq-inspector"]]
        assert backend.files_written == 3

    async def test_no_purge_keeps_files_and_writes_only_differences(self, hosts: Path,
                                                                    repo: Repository) -> None:
        (hosts / A).write_text(f"{A},ignore\n")
        (hosts / D).write_text(f"{D}\n")
        (hosts / UNKNOWN_HOSTS).write_text(DENIED)
        pxe, backend = make_filter(hosts, repo, PortsIronic([A, B]), purge_dhcp_hostsdir=False)
        await pxe.start()
        assert files(hosts) == {A: f"{A},ignore\n", B: f"{B},ignore\n", D: f"{D},ignore\n",
                                   UNKNOWN_HOSTS: DENIED}
        assert backend.files_written == 2  # B created, D (gone from Ironic) closed

    async def test_failing_start_command_aborts_start(self, hosts: Path, repo: Repository) -> None:
        runner = FakeRunner()
        runner.on(lambda argv: True, Completed(("false",), 1, "", "no such unit"))
        pxe, _ = make_filter(hosts, repo, PortsIronic(), runner, dnsmasq_start_command="false")
        with pytest.raises(PXEFilterError, match="no such unit"):
            await pxe.start()

    async def test_stop_runs_stop_command_and_ignores_its_failure(self, hosts: Path,
                                                                  repo: Repository) -> None:
        runner = FakeRunner()
        runner.on(lambda argv: argv[0] == "stop-it", Completed(("stop-it",), 3))
        pxe, _ = make_filter(hosts, repo, PortsIronic([A]), runner,
                             dnsmasq_stop_command="stop-it --now")
        await pxe.start()
        await pxe.stop()
        assert runner.argvs == [["stop-it", "--now"]]
        assert (hosts / A).exists(), "files are never deleted"


class TestMetrics:
    async def test_full_sync_is_timed_and_counts_verdicts(self, hosts: Path,
                                                          repo: Repository) -> None:
        """Each full sync is one observation of the sync histogram and sets the gauges of
        Ironic's MACs by verdict; allow/deny between syncs leave the gauges alone."""
        ironic = PortsIronic([A, B, C])
        pxe, _ = make_filter(hosts, repo, ironic)
        pxe.metrics = ironic.metrics
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        assert gauges(ironic.metrics) == {"allow": 0, "deny": 3, "syncs": 1}
        await pxe.reconcile()
        assert gauges(ironic.metrics) == {"allow": 1, "deny": 2, "syncs": 2}


def gauges(metrics: Metrics) -> dict[str, float]:
    text = render(metrics, None)[0].decode()
    values = {(s.name, s.labels.get("verdict")): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    return {"allow": values[("metalscope_pxe_filter_macs", "allow")],
            "deny": values[("metalscope_pxe_filter_macs", "deny")],
            "syncs": values[("metalscope_pxe_filter_sync_duration_seconds_count", None)]}


class TestIncremental:
    async def test_allow_and_deny_write_only_the_node_and_the_wildcard(
            self, hosts: Path, repo: Repository) -> None:
        pxe, backend = make_filter(hosts, repo, PortsIronic([A, B, C]))
        await pxe.start()
        written = backend.files_written
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        assert files(hosts)[A] == f"{A}\n" and files(hosts)[UNKNOWN_HOSTS] == ALLOWED
        assert backend.files_written - written == 2
        await end_introspection(repo, NODE_1)
        await pxe.deny({A})
        assert files(hosts)[A] == f"{A},ignore\n" and files(hosts)[UNKNOWN_HOSTS] == DENIED
        assert backend.files_written - written == 4

    async def test_deny_keeps_unknown_open_while_another_introspection_runs(
            self, hosts: Path, repo: Repository) -> None:
        pxe, _ = make_filter(hosts, repo, PortsIronic([A, B]))
        await pxe.start()
        for node, mac in ((NODE_1, A), (NODE_2, B)):
            await start_introspection(repo, node, [mac])
            await pxe.allow({mac})
        await end_introspection(repo, NODE_1)
        await pxe.deny({A})
        assert files(hosts) == {A: f"{A},ignore\n", B: f"{B}\n", UNKNOWN_HOSTS: ALLOWED}

    async def test_mac_unseen_by_last_sync_is_handled(self, hosts: Path, repo: Repository) -> None:
        """A port created after the last sync (allow gets it from Ironic) still gets its file."""
        pxe, _ = make_filter(hosts, repo, PortsIronic([A]))
        await pxe.start()
        await start_introspection(repo, NODE_1, [B.upper()])
        await pxe.allow({B.upper()})
        assert files(hosts)[B] == f"{B}\n"

    async def test_discovery_keeps_unknown_macs_allowed(self, hosts: Path,
                                                        repo: Repository) -> None:
        settings = filter_settings(pxe_filter={"driver": "dnsmasq"},
                                   processing={"node_not_found_hook": "example"})
        backend = HostsDir(hosts, run=FakeRunner())
        pxe = DiffFilter(backend, settings, repo, PortsIronic([A]))  # type: ignore[arg-type]
        await pxe.start()
        assert files(hosts) == {A: f"{A},ignore\n", UNKNOWN_HOSTS: ALLOWED}

    async def test_deny_unknown_macs_closes_the_wildcard_during_introspection(
            self, hosts: Path, repo: Repository) -> None:
        settings = filter_settings(pxe_filter={"driver": "dnsmasq", "deny_unknown_macs": True})
        backend = HostsDir(hosts, run=FakeRunner())
        pxe = DiffFilter(backend, settings, repo, PortsIronic([A, B]))  # type: ignore[arg-type]
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        assert files(hosts) == {A: f"{A}\n", B: f"{B},ignore\n", UNKNOWN_HOSTS: DENIED}


class TestReconcile:
    async def test_one_percent_change_writes_one_percent(self, hosts: Path,
                                                         repo: Repository) -> None:
        macs = [f"52:54:00:00:{i // 256:02x}:{i % 256:02x}" for i in range(1000)]
        ironic = PortsIronic(macs)
        pxe, backend = make_filter(hosts, repo, ironic)
        await pxe.start()
        assert backend.files_written == 1001
        await start_introspection(repo, NODE_1, macs[:5])
        ironic.set_macs([*macs[:-5], "52:54:00:ff:00:01", "52:54:00:ff:00:02"])
        await pxe.reconcile()
        # 5 opened, 5 removed ports rewritten to the (now open) unknown policy, 2 new, wildcard
        assert backend.files_written == 1001 + 13
        assert ironic.calls[-1] == ["address", "extra"]
        await pxe.reconcile()
        assert backend.files_written == 1001 + 13

    async def test_allow_during_a_slow_ironic_listing_is_not_undone(
            self, hosts: Path, repo: Repository) -> None:
        """The database is read after Ironic answered, under the lock."""
        ironic = PortsIronic([A, B])
        pxe, _ = make_filter(hosts, repo, ironic)
        await pxe.start()
        release = asyncio.Event()
        listing = ironic.list_ports

        async def slow_list(fields: Any = None) -> Any:
            await release.wait()
            return await listing(fields)
        ironic.list_ports = slow_list  # type: ignore[method-assign]
        sync = asyncio.create_task(pxe.reconcile())
        await asyncio.sleep(0)
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})
        release.set()
        await sync
        assert files(hosts)[A] == f"{A}\n"

    async def test_ironic_down_is_a_noop(self, hosts: Path, repo: Repository) -> None:
        ironic = PortsIronic([A])
        pxe, backend = make_filter(hosts, repo, ironic)
        await pxe.start()
        ironic.fail = True
        await pxe.reconcile()
        assert backend.files_written == 2

    async def test_failure_reinitialises_at_next_call(self, hosts: Path, repo: Repository,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
        """Q-PXE-1 fixed: a failed sync does not break the filter until a restart."""
        ironic = PortsIronic([A])
        pxe, _backend = make_filter(hosts, repo, ironic)
        await pxe.start()
        real_write = dnsmasq.write_locked

        def broken(path: Path, text: str, *args: Any) -> bool:
            raise OSError(28, "No space left on device")
        monkeypatch.setattr(dnsmasq, "write_locked", broken)
        ironic.set_macs([A, B])
        with pytest.raises(PXEFilterError, match="No space left"):
            await pxe.reconcile()
        monkeypatch.setattr(dnsmasq, "write_locked", real_write)
        (hosts / C).write_text(f"{C}\n")  # written meanwhile: the re-read sees it
        await pxe.reconcile()
        assert files(hosts) == {A: f"{A},ignore\n", B: f"{B},ignore\n", C: f"{C},ignore\n",
                                   UNKNOWN_HOSTS: DENIED}

    async def test_deny_never_raises(self, hosts: Path, repo: Repository,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
        pxe, _ = make_filter(hosts, repo, PortsIronic([A]))
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        await pxe.allow({A})

        def broken(path: Path, text: str, *args: Any) -> bool:
            raise OSError(5, "I/O error")
        monkeypatch.setattr(dnsmasq, "write_locked", broken)
        await end_introspection(repo, NODE_1)
        await pxe.deny({A})
        with pytest.raises(PXEFilterError):
            await pxe.allow({A})

    async def test_locked_file_is_retried_at_next_sync(self, hosts: Path,
                                                       repo: Repository) -> None:
        ironic = PortsIronic([A])
        pxe, _ = make_filter(hosts, repo, ironic)
        await pxe.start()
        await start_introspection(repo, NODE_1, [A])
        fd = os.open(hosts / A, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            await pxe.allow({A})
            assert files(hosts)[A] == f"{A},ignore\n"
        finally:
            os.close(fd)
        await pxe.reconcile()
        assert files(hosts)[A] == f"{A}\n"
