"""The idle-cost benchmark's own parts: counting through the proxy, per-minute arithmetic,
``/proc`` parsing, the bulk-inserted rows."""

from __future__ import annotations

import asyncio
import datetime
import http.server
import sqlite3
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

from counting_proxy import (
    CallCounts,
    CountingProxy,
    Tally,
    _relay_body,
    body_framing,
    difference,
    keeps_alive,
    parse_head,
    total,
)
from idle_cost import (
    Snapshot,
    logged_calls,
    merge,
    minus_baseline,
    per_minute,
    ratio,
    ratios,
    table,
    window_figures,
)
from idle_services import ServiceSpec, config_sections
from introspection_records import (
    data_templates,
    encoded_versions,
    history_rows,
    record_rows,
    summary_rows,
)
from ironic_population import ObjectVersions, node_mac, node_rows, node_uuid, port_rows
from proc_stats import (
    StatLine,
    descendants,
    parse_rss_kib,
    parse_stat,
    tree_cpu_seconds,
    tree_rss_bytes,
)

UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"

# -- counting ------------------------------------------------------------------------------


def test_counts_are_kept_per_call_with_identifiers_erased() -> None:
    counts = CallCounts()
    counts.record("GET", f"/v1/nodes/{UUID}", 100)
    counts.record("GET", "/v1/nodes/2a4e6a1c-03f2-4d2e-ae87-c02d7f33c999", 50)
    counts.record("GET", "/v1/ports?limit=1000&fields=address", 4000)
    assert counts.snapshot() == {"GET /v1/nodes/{uuid}": Tally(2, 150),
                                 "GET /v1/ports?fields&limit": Tally(1, 4000)}


def test_difference_keeps_only_calls_made_between_snapshots() -> None:
    before = {"GET /v1/ports": Tally(3, 300), "GET /v1/nodes": Tally(1, 10)}
    after = {"GET /v1/ports": Tally(5, 700), "GET /v1/nodes": Tally(1, 10),
             "GET /": Tally(1, 99)}
    found = difference(after, before)
    assert found == {"GET /v1/ports": Tally(2, 400), "GET /": Tally(1, 99)}
    assert total(found) == Tally(3, 499)


@pytest.mark.parametrize(("headers", "method", "status", "framing"), [
    ({"content-length": "12"}, "GET", 200, ("length", 12)),
    ({"content-length": "0"}, "GET", 200, ("none", 0)),
    ({"transfer-encoding": "chunked"}, "GET", 200, ("chunked", 0)),
    ({}, "GET", 200, ("eof", 0)),
    ({"content-length": "12"}, "HEAD", 200, ("none", 0)),
    ({}, "DELETE", 204, ("none", 0)),
    ({}, None, None, ("none", 0)),  # a request without a body
    ({"content-length": "5"}, None, None, ("length", 5)),
])
def test_body_framing(headers: dict[str, str], method: str | None, status: int | None,
                      framing: tuple[str, int]) -> None:
    assert body_framing(headers, method=method, status=status) == framing


def test_heads_are_parsed_and_connection_close_ends_keep_alive() -> None:
    request = parse_head(b"GET /v1/ports HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    response = parse_head(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    assert request.start_line == "GET /v1/ports HTTP/1.1"
    assert response.headers == {"content-length": "2"}
    assert not keeps_alive(request, response)
    assert keeps_alive(parse_head(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"), response)
    assert not keeps_alive(parse_head(b"GET / HTTP/1.1\r\n\r\n"),
                           parse_head(b"HTTP/1.0 200 OK\r\n\r\n"))


class _Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data


def test_a_chunked_body_is_relayed_whole_with_its_framing() -> None:
    wire = b"5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nTrailer: y\r\n\r\nNEXT"

    async def relay() -> tuple[int, bytes, bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(wire)
        reader.feed_eof()
        sink = _Sink()
        copied = await _relay_body(reader, sink, ("chunked", 0))  # type: ignore[arg-type]
        return copied, sink.data, await reader.read()

    copied, relayed, rest = asyncio.run(relay())
    assert relayed == wire[:-4]
    assert copied == len(wire) - 4
    assert rest == b"NEXT"


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"x" * (100 if self.path.startswith("/v1/nodes") else 10)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PATCH(self) -> None:
        length = int(self.headers["Content-Length"])
        body = self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def backend() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_proxy_relays_and_counts_requests_and_response_bytes(
        backend: http.server.ThreadingHTTPServer) -> None:
    proxy = CountingProxy("127.0.0.1", backend.server_address[1]).start()
    try:
        with httpx.Client(base_url=proxy.url) as client:  # one kept-alive connection
            first = client.get(f"/v1/nodes/{UUID}")
            second = client.get("/v1/ports", params={"limit": 1000})
            patched = client.patch(f"/v1/nodes/{UUID}", content=b'[{"op": "add"}]')
    finally:
        proxy.stop()
    assert first.content == b"x" * 100 and second.content == b"x" * 10
    assert patched.content == b'[{"op": "add"}]'
    counts = proxy.counts.snapshot()
    assert set(counts) == {"GET /v1/nodes/{uuid}", "GET /v1/ports?limit",
                           "PATCH /v1/nodes/{uuid}"}
    assert counts["GET /v1/nodes/{uuid}"].requests == 1
    # status line and headers count too: more than the body, less than body + 1 KiB
    assert 100 < counts["GET /v1/nodes/{uuid}"].response_bytes < 100 + 1024
    assert counts["GET /v1/ports?limit"].response_bytes < counts[
        "GET /v1/nodes/{uuid}"].response_bytes


# -- per-minute arithmetic -----------------------------------------------------------------


def test_per_minute() -> None:
    assert per_minute(30, 120) == 15
    assert per_minute(1.5, 30) == 3
    with pytest.raises(ValueError, match="longer than 0"):
        per_minute(1, 0)


def test_window_figures_are_rates_per_minute_of_the_window() -> None:
    before = Snapshot(100.0, {"GET /v1/ports": Tally(10, 10 * 2048)}, 50.0, 7.0)
    after = Snapshot(220.0, {"GET /v1/ports": Tally(30, 30 * 2048), "GET /": Tally(2, 0)},
                     56.0, 7.5)
    figures = window_figures(before, after, rss_bytes=150 << 20)
    assert figures.window_s == 120
    assert figures.requests_per_min == 11  # 22 requests in 2 minutes
    assert figures.kib_per_min == 20  # 20 × 2 KiB in 2 minutes
    assert figures.ironic_cpu_per_min == 3
    assert figures.service_cpu_per_min == pytest.approx(0.25)
    assert figures.rss_mib == 150
    assert figures.by_call_per_min["GET /v1/ports"] == {"requests": 10, "kib": 20}


def test_baseline_has_no_service_figures() -> None:
    before = Snapshot(0.0, {}, 1.0, None)
    after = Snapshot(60.0, {}, 1.2, None)
    figures = window_figures(before, after, rss_bytes=None)
    assert figures.service_cpu_per_min is None and figures.rss_mib is None
    assert figures.requests_per_min == 0
    assert figures.ironic_cpu_per_min == pytest.approx(0.2)


def _result(requests: float, kib: float, cpu: float, service: float | None) -> dict[str, object]:
    return {"requests_per_min": requests, "kib_per_min": kib, "ironic_cpu_per_min": cpu,
            "service_cpu_per_min": service, "rss_mib": None if service is None else 100.0,
            "load_after": [1.5, 1.0, 0.5]}


def test_ratios_compare_ironic_cpu_above_the_baseline() -> None:
    services = {"baseline": _result(0, 0, 0.2, None),
                "upstream": _result(40, 8000, 20.2, 60.0),
                "metalscope": _result(4, 100, 0.4, 0.1)}
    found = ratios(services)
    assert found["requests"] == 10
    assert found["kib"] == 80
    assert found["ironic_cpu_minus_baseline"] == pytest.approx(100)
    assert found["service_cpu"] == pytest.approx(600)
    assert ratios({"upstream": services["upstream"]}) == {}
    assert ratio(1.0, 0.0) is None and ratio(None, 1.0) is None
    assert minus_baseline(1.0, None) is None


def test_table_has_a_row_per_service_with_the_baseline_subtracted() -> None:
    text = table({"10000": {"baseline": _result(0, 0, 0.2, None),
                            "metalscope": _result(4, 100, 0.7, 0.1)}})
    lines = text.splitlines()
    assert len(lines) == 4
    assert lines[2] == "| 10,000 | Ironic alone | 0.0 | 0 | 0.20 | n/a | n/a | 1.5 |"
    assert "0.70 (+0.50)" in lines[3] and "MetalScope, dnsmasq" in lines[3]


def test_a_failed_service_is_a_row_saying_so_and_no_ratio() -> None:
    services = {"upstream": {"failed": "upstream exited with 1"},
                "metalscope": _result(4, 100, 0.7, 0.1)}
    assert "| upstream 12.5.0, dnsmasq | failed: upstream exited with 1 |" in table(
        {"10000": services})
    assert ratios(services) == {}


def test_merged_runs_keep_every_size_and_their_own_windows() -> None:
    small = {"label": "x", "started": "a", "finished": "b", "warmup_s": 30, "window_s": 120,
             "services": ["baseline"], "sizes": {"10000": {"baseline": {"w": 1}}}}
    large = {"label": "x", "started": "c", "finished": "d", "warmup_s": 60, "window_s": 180,
             "services": ["baseline"], "sizes": {"100000": {"baseline": {"w": 2}}}}
    merged = merge([small, large])
    assert merged["sizes"] == {"10000": {"baseline": {"w": 1}},
                               "100000": {"baseline": {"w": 2}}}
    assert [run["window_s"] for run in merged["runs"]] == [120, 180]
    assert (merged["started"], merged["finished"]) == ("a", "d")


def test_logged_calls_count_whole_lines_between_two_offsets(tmp_path: Path) -> None:
    line = ("2026-12-06 17:08:00.034 1 INFO ironic.api [None req-1 - - - - - -] 127.0.0.1 - "
            "GET /v1/ports?fields=address%2Cextra - 200 (56.46ms)\n")
    log_file = tmp_path / "ironic.log"
    log_file.write_text(line + line + line[:40])
    assert logged_calls(log_file, 0, log_file.stat().st_size)["by_call"] == {
        "GET /v1/ports?fields": 2}
    assert logged_calls(log_file, len(line), log_file.stat().st_size)["total"] == 1


# -- /proc ---------------------------------------------------------------------------------

STAT = ("4242 (python3 (x) y) S 4200 4242 4242 0 -1 4194560 1000 0 0 0 "
        "150 25 7 3 20 0 4 0 1234 100000000 5000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 "
        "17 1 0 0 0 0 0")


def test_stat_lines_are_parsed_past_a_command_name_with_spaces_and_parentheses() -> None:
    stat = parse_stat(STAT)
    assert stat == StatLine(4242, 4200, 150, 25, 7, 3)
    assert stat.ticks == 185


def test_rss_is_read_from_status() -> None:
    assert parse_rss_kib("Name:\tx\nVmPeak:\t 9 kB\nVmRSS:\t  123456 kB\n") == 123456
    assert parse_rss_kib("Name:\tkthreadd\n") == 0


def test_descendants_follow_parent_links_only_below_the_root() -> None:
    stats = [StatLine(1, 0, 0, 0, 0, 0), StatLine(10, 1, 0, 0, 0, 0),
             StatLine(11, 10, 0, 0, 0, 0), StatLine(12, 11, 0, 0, 0, 0),
             StatLine(20, 1, 0, 0, 0, 0)]
    assert descendants(10, stats) == {10, 11, 12}
    assert descendants(20, stats) == {20}


def _fake_proc(root: Path, pid: int, ppid: int, utime: int, rss_kib: int) -> None:
    folder = root / str(pid)
    folder.mkdir()
    fields = STAT.rsplit(") ", 1)[1].split()
    fields[1], fields[11], fields[12], fields[13], fields[14] = (
        str(ppid), str(utime), "0", "0", "0")
    (folder / "stat").write_text(f"{pid} (worker) " + " ".join(fields))
    (folder / "status").write_text(f"Name:\tworker\nVmRSS:\t{rss_kib} kB\n")


def test_tree_figures_add_up_the_process_and_its_children(tmp_path: Path) -> None:
    import proc_stats
    _fake_proc(tmp_path, 100, 1, utime=proc_stats.CLOCK_TICKS * 2, rss_kib=1024)
    _fake_proc(tmp_path, 101, 100, utime=proc_stats.CLOCK_TICKS, rss_kib=2048)
    _fake_proc(tmp_path, 200, 1, utime=proc_stats.CLOCK_TICKS * 50, rss_kib=99999)
    (tmp_path / "self").mkdir()  # not a process folder
    assert tree_cpu_seconds(100, tmp_path) == 3
    assert tree_rss_bytes(100, tmp_path) == 3 << 20


# -- configuration and rows ----------------------------------------------------------------


def test_services_share_one_configuration_but_the_pxe_filter() -> None:
    assert ServiceSpec("metalscope-noop").program == "metalscope"
    assert ServiceSpec("upstream").pxe_filter == "dnsmasq"
    assert ServiceSpec("upstream-noop").pxe_filter == "noop"
    with pytest.raises(ValueError, match="unknown service"):
        ServiceSpec("metalscope-iptables")
    dnsmasq = config_sections(Path("/run"), 5050, "http://ironic", "dnsmasq")
    noop = config_sections(Path("/run"), 5050, "http://ironic", "noop")
    assert dnsmasq["pxe_filter"] == {"driver": "dnsmasq"}
    assert {**dnsmasq, "pxe_filter": noop["pxe_filter"]} == noop
    assert dnsmasq["dnsmasq_pxe_filter"]["dnsmasq_start_command"] == ""
    assert "sync_period" not in dnsmasq["pxe_filter"]  # the default period


def test_records_and_nodes_share_uuids_and_macs() -> None:
    now = datetime.datetime(2026, 1, 1)
    nodes, data = record_rows(0, 3, now, data_templates(2))
    assert [row[0] for row in nodes] == [node_uuid(i) for i in range(3)]
    assert {row[3] for row in nodes} == {"finished"}
    assert len(data) == 6 and [row[1] for row in data[:2]] == [0, 1]
    assert node_mac(1) in data[2][2] and node_mac(1) in data[3][2]
    assert "@MAC@" not in data[2][2]
    assert len({node_mac(i) for i in range(100000)}) == 100000


def test_summaries_are_metalscopes_own_of_the_processed_data() -> None:
    rows = summary_rows(3, 5, data_templates(2))
    assert [row["uuid"] for row in rows] == [node_uuid(3), node_uuid(4)]
    assert rows[0]["name"] == "node-000003"
    assert node_mac(3) in rows[0]["macs"] and node_mac(3) in rows[0]["search_text"]
    assert rows[0]["cpu_count"] and rows[0]["memory_mib"]


def test_history_versions_are_version_one_finished_with_the_record() -> None:
    now = datetime.datetime(2026, 1, 1)
    templates = data_templates(2)
    versions = encoded_versions(templates)
    nodes, _ = record_rows(0, 3, now, templates)
    rows = history_rows(0, 3, now, versions)
    assert [(row[0], row[1]) for row in rows] == [(node_uuid(i), 1) for i in range(3)]
    assert [row[3] for row in rows] == [node[5] for node in nodes]  # finished_at
    assert rows[2][12] == versions[0].processed and rows[2][11] == versions[0].stored_bytes


def test_population_rows_fit_ironics_tables() -> None:
    versions = ObjectVersions("1.44", "1.16", "1.1")
    now = datetime.datetime(2026, 1, 1)
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE nodes (id INTEGER PRIMARY KEY, uuid TEXT UNIQUE, "
                       + ", ".join(f"{name} TEXT" for name in list(
                           next(node_rows(0, 1, now, versions, None)))[2:]) + ")")
    rows = list(node_rows(5, 8, now, versions, None))
    connection.executemany(f"INSERT INTO nodes VALUES ({', '.join('?' * len(rows[0]))})",
                           [tuple(row.values()) for row in rows])
    assert [row["id"] for row in rows] == [6, 7, 8]
    assert rows[0]["driver"] == "fake-hardware" and rows[0]["provision_state"] == "manageable"
    assert rows[0]["inspection_finished_at"] is None
    ports = list(port_rows(5, 8, now, versions))
    assert [(port[2], port[3]) for port in ports] == [(node_mac(i), i + 1) for i in (5, 6, 7)]
