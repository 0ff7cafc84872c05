"""The node page's view models: hardware grouped from stored data or the summary, the
stored-data panel, history rows and the side-by-side diff."""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass

from metalscope.hardware import compare
from metalscope.ui import diff_view, formatting, node_view
from metalscope.ui.origin import same_origin
from tests.factories import disk, ramdisk_data
from tests.history_seed import processed
from tests.unit.ui.fleet_fake import row, summary

UUID = "9d2b0a3c-2f43-4b8e-9d43-6a2f8bb4e1f5"
STORED = node_view.StoredData(None, "not stored")


class TestHardware:
    def test_from_stored_data(self) -> None:
        data = ramdisk_data()
        data["inventory"]["disks"] = [disk("/dev/sda", 100, serial="S1", model="M1"),
                                      disk("/dev/sdb", 200, rotational=True)]
        data["pci_devices"] = [{"vendor_id": "0x8086", "product_id": "0x1572", "class": "020000",
                                "revision": "01", "bus": "0000:3b:00.0"}]
        view = node_view.node_view(row(UUID, "rack-1", hardware=summary()), data, STORED)
        assert view.source == "stored data" and view.title == "rack-1"
        assert [(d.name, d.size, d.model, d.rotational) for d in view.disks] == [
            ("/dev/sda", "107 GB", "M1", "SSD"), ("/dev/sdb", "215 GB", "—", "HDD")]
        assert [(p.bus, p.device, p.device_class) for p in view.pci] == [
            ("0000:3b:00.0", "8086:1572", "020000")]
        assert len(view.nics) == len(data["inventory"]["interfaces"])
        assert view.rules[0].description == "big memory"
        labels = [f.label for f in view.cpu]
        assert "Model" in labels and "Count" in labels

    def test_from_summary(self) -> None:
        view = node_view.node_view(row(UUID, hardware=summary()), None, STORED)
        assert view.source == "summary"
        assert {f.label: f.value for f in view.system}["Vendor"] == "Dell Inc."
        assert [f.value for f in view.memory] == ["192 GiB", "2", "1.9 TB"]
        assert [n.mac for n in view.nics] == ["52:54:00:00:00:01", "52:54:00:00:00:02"]
        assert view.disks == [] and view.pci == []

    def test_nothing_known(self) -> None:
        view = node_view.node_view(row(UUID, state="waiting"), None, STORED)
        assert view.source is None and view.system == [] and view.finished == "—"

    def test_malformed_data_never_raises(self) -> None:
        view = node_view.node_view(row(UUID), {"inventory": [], "pci_devices": "x"}, STORED)
        assert view.source == "stored data" and view.disks == []


class TestStoredData:
    def test_pretty(self) -> None:
        stored = node_view.stored_data('{"b": 1, "a": [1]}', enabled=True)
        assert json.loads(stored.text or "") == {"a": [1], "b": 1}
        assert stored.text.startswith('{\n  "a"')  # type: ignore[union-attr]

    def test_why_not(self) -> None:
        assert "store_data = none" in node_view.stored_data(None, enabled=False).note
        assert node_view.stored_data(None, enabled=True).note == "nothing stored for this node"
        failed = node_view.stored_data(None, enabled=True, failure="Swift said 503")
        assert failed.note == "could not be read: Swift said 503"

    def test_parsed(self) -> None:
        assert node_view.parsed('{"a": 1}') == {"a": 1}
        assert node_view.parsed("[1]") is None and node_view.parsed("{") is None
        assert node_view.parsed(None) is None


@dataclass(frozen=True)
class Version:
    version: int
    finished_at: datetime.datetime
    source: str = "inband"
    error: str | None = None
    changed: bool | None = None
    summary: str | None = None


T0 = datetime.datetime(2026, 1, 1, 12, 0)


def test_history_rows() -> None:
    versions = [Version(3, T0, changed=True, summary="memory"), Version(2, T0, changed=False),
                Version(1, T0)]
    rows = diff_view.history_rows("/ui/nodes/x", versions, (2, 3))
    assert [(r.version, r.changed, r.shown) for r in rows] == [
        (3, "yes", True), (2, "no", True), (1, "—", False)]
    assert rows[0].diff_href == "/ui/nodes/x?from=2&to=3#diff" and rows[2].diff_href is None


def test_side_by_side_diff() -> None:
    old = processed(65536, [disk("/dev/sda", 100, serial="A"), disk("/dev/sdb", 100, serial="B")])
    new = processed(57344, [disk("/dev/sda", 100, serial="A"), disk("/dev/sdb", 100, serial="C")])
    view = diff_view.diff_view(Version(1, T0), Version(2, T0), compare(old, new))
    assert view.changed and view.summary == compare(old, new).summary
    assert [c.title for c in view.old] == [c.title for c in view.new] == ["Memory", "Disks"]
    memory_old, memory_new = view.old[0].entries[0], view.new[0].entries[0]
    assert memory_old.values == (diff_view.Value("Total", "64 GiB", True),)
    assert memory_new.values == (diff_view.Value("Total", "56 GiB", True),)
    disks_old, disks_new = view.old[1].entries, view.new[1].entries
    assert [(e.component, e.kind) for e in disks_old] == [("serial:B", "removed"),
                                                          ("serial:C", "added")]
    assert disks_new[0].values is None and disks_old[1].values is None
    assert disks_old[0].values is not None and not any(v.changed for v in disks_old[0].values)


def test_unchanged_diff() -> None:
    data = processed(65536)
    view = diff_view.diff_view(Version(1, T0), Version(1, T0), compare(data, data))
    assert not view.changed and view.old == () and view.summary == "no hardware change"


class TestFormatting:
    def test_attributes(self) -> None:
        assert formatting.attribute("size_bytes", 960_197_124_096) == "960 GB"
        assert formatting.attribute("size_mb", 32768) == "32 GiB"
        assert formatting.attribute("speed_mbps", 25000) == "25 Gb/s"
        assert formatting.attribute("frequency_mhz", 2400) == "2400 MHz"
        assert formatting.attribute("flags", ["aes", "vmx"]) == "aes, vmx"
        assert formatting.attribute("rotational", True) == "yes"
        assert formatting.attribute("anything", None) == "—"
        assert formatting.label("switch_port_id") == "Switch port id"

    def test_timestamps_in_utc(self) -> None:
        aware = datetime.datetime(2026, 1, 1, 13, 0, 5, 123, tzinfo=datetime.timezone(
            datetime.timedelta(hours=1)))
        assert formatting.timestamp(aware) == "2026-01-01 12:00:05 UTC"
        assert formatting.timestamp(None) == "—"


class TestSameOrigin:
    def test_origin_decides(self) -> None:
        assert same_origin("https://ms.example", "https://ms.example", None)
        assert same_origin("https://ms.example", "HTTPS://MS.EXAMPLE", "https://evil.test/")
        assert not same_origin("https://ms.example", "https://evil.test", "https://ms.example/")
        assert not same_origin("https://ms.example", "null", None)

    def test_referer_otherwise(self) -> None:
        assert same_origin("http://h:5050", None, "http://h:5050/ui/login")
        assert not same_origin("http://h:5050", None, "http://h:5051/ui/login")
        assert not same_origin("http://h:5050", None, None)
        assert not same_origin("http://h:5050", None, "")
