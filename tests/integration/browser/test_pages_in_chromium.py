"""The fleet pages in a real headless Chromium: a MetalScope (http_basic) with a real Ironic,
six nodes introspected by simulated ramdisks (one failed by a rule, one still waiting, one
introspected twice with changed hardware). Each test saves screenshots of what it checked.
"""

from __future__ import annotations

import re
import uuid as uuid_module
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.integration.browser.conftest import (
    FAIL_MESSAGE,
    PASSWORD,
    USER,
    Fleet,
    FleetNode,
    PlaywrightError,
    PlaywrightTimeout,
)

pytestmark = pytest.mark.integration

Screenshot = Callable[..., Any]



def row_uuids(page: Any) -> list[str]:
    return [str(row.get_attribute("data-uuid")) for row in page.locator("tr.node-row").all()]


def row_names(page: Any) -> list[str]:
    return [text.strip() for text in page.locator("tr.node-row td.col-name").all_inner_texts()]


def shown_name(fleet: Fleet, node: FleetNode) -> str:
    """The name in the table: the node's name comes with its hardware summary, so a node
    still waiting for its ramdisk shows its UUID."""
    return node.uuid if node is fleet.waiting else node.name


def row(page: Any, node: FleetNode) -> Any:
    return page.locator(f'tr.node-row[data-uuid="{node.uuid}"]')


def search(page: Any, expect: Any, text: str) -> None:
    """Type into the search box and submit the form (works without JavaScript)."""
    page.fill("#search", text)
    page.click("#apply")
    page.wait_for_url(lambda url: parse_qs(urlsplit(url).query).get("q") == [text])
    page.wait_for_load_state()
    expect(page.locator("#search")).to_have_value(text)


def choose_state(page: Any, value: str) -> None:
    """Pick a state in the filter: the page's script submits on change; without it, the
    Apply button does."""
    wanted = re.compile(rf"[?&]state={re.escape(value)}(&|$)")
    page.select_option("#state-filter", value)
    try:
        page.wait_for_url(wanted, timeout=3_000)
    except PlaywrightTimeout:
        page.click("#apply")
        page.wait_for_url(wanted)
    page.wait_for_load_state()


def no_horizontal_scroll(page: Any) -> bool:
    return bool(page.evaluate(
        "document.scrollingElement.scrollWidth <= window.innerWidth"))


class TestFleetTable:
    def test_lists_every_node(self, new_page: Callable[..., Any], fleet: Fleet, expect: Any,
                              screenshot: Screenshot) -> None:
        page = new_page()
        page.goto("/ui")
        expect(page).to_have_url(f"{fleet.url}/ui/")
        expect(page.locator("tr.node-row")).to_have_count(len(fleet.nodes))
        assert sorted(row_uuids(page)) == sorted(node.uuid for node in fleet.all)
        expect(page.locator("#total")).to_have_text(str(len(fleet.nodes)))
        for node in fleet.all:
            expect(row(page, node).locator("td.col-name a.node-link")).to_have_attribute(
                "href", f"/ui/nodes/{node.uuid}")
            expect(row(page, node).locator("td.col-name")).to_have_text(shown_name(fleet, node))
        failed = row(page, fleet.failed)
        expect(failed).to_have_attribute("data-state", "error")
        expect(failed.locator("td.col-error")).to_contain_text(FAIL_MESSAGE)
        expect(row(page, fleet.waiting)).to_have_attribute("data-state", "waiting")
        for node in fleet.finished:
            line = row(page, node)
            expect(line).to_have_attribute("data-state", "finished")
            expect(line.locator("td.col-vendor")).to_contain_text(node.machine.vendor)
            expect(line.locator("td.col-disks")).to_contain_text(str(len(node.machine.disks)))
            expect(line.locator("td.col-nics")).to_contain_text(str(len(node.machine.nics)))
            expect(line.locator("td.col-error")).to_have_text("")
        expect(row(page, fleet.changed).locator("td.col-rules")).to_contain_text("Dell servers")
        # The README's picture: a window wide enough for every column of the table.
        table_width = page.evaluate("document.getElementById('fleet').scrollWidth")
        page.set_viewport_size({"width": max(1280, int(table_width) + 40), "height": 400})
        path = screenshot(page, "fleet-desktop")
        assert path.stat().st_size > 0

    @pytest.mark.parametrize("key", ["name", "pxe_mac", "serial"])
    def test_search_narrows_to_one_node(self, page: Any, fleet: Fleet, expect: Any,
                                        key: str) -> None:
        node = fleet.nodes["rack2-lenovo-03"]
        text = {"name": node.name, "pxe_mac": node.machine.pxe_mac.upper(),
                "serial": node.machine.serial_number}[key]
        page.goto("/ui/")
        search(page, expect, text)
        expect(page.locator("tr.node-row")).to_have_count(1)
        assert row_uuids(page) == [node.uuid]
        expect(page.locator("#total")).to_have_text("1")

    def test_search_without_match(self, page: Any, expect: Any, screenshot: Screenshot) -> None:
        page.goto("/ui/")
        search(page, expect, "no-such-machine")
        expect(page.locator("tr.node-row")).to_have_count(0)
        expect(page.locator("#no-nodes")).to_be_visible()
        expect(page.locator("#total")).to_have_text("0")
        screenshot(page, "fleet-no-match")

    def test_sort_by_name_both_ways(self, page: Any, fleet: Fleet, expect: Any) -> None:
        names = sorted(node.name for node in fleet.finished)
        page.goto("/ui/?state=finished&sort=name&desc=0")
        expect(page.locator("tr.node-row")).to_have_count(len(names))
        assert row_names(page) == names
        page.click('a.sort[data-sort="name"]')
        expect(page.locator("tr.node-row").first).to_contain_text(names[-1])
        page.wait_for_load_state()
        assert row_names(page) == names[::-1]

    def test_sort_header_changes_order(self, page: Any, fleet: Fleet, expect: Any) -> None:
        """Sorting by memory puts the small virtual machine at one end."""
        vm = fleet.nodes["lab-vm-05"]
        page.goto("/ui/?state=finished")
        page.click('a.sort[data-sort="memory_mib"]')
        expect(page).to_have_url(re.compile(r"[?&]sort=memory_mib(&|$)"))
        page.wait_for_load_state()
        uuids = row_uuids(page)
        assert vm.uuid in (uuids[0], uuids[-1])
        page.click('a.sort[data-sort="memory_mib"]')
        expect(page.locator("tr.node-row").first).not_to_have_attribute("data-uuid", uuids[0])
        assert row_uuids(page) == uuids[::-1]

    def test_state_filter_shows_the_failed_node(self, page: Any, fleet: Fleet, expect: Any,
                                                screenshot: Screenshot) -> None:
        page.goto("/ui/")
        choose_state(page, "error")
        expect(page.locator("tr.node-row")).to_have_count(1)
        assert row_uuids(page) == [fleet.failed.uuid]
        expect(page.locator("#total")).to_have_text("1")
        expect(row(page, fleet.failed).locator("td.col-error")).to_contain_text(FAIL_MESSAGE)
        screenshot(page, "fleet-errors")
        choose_state(page, "")
        expect(page.locator("tr.node-row")).to_have_count(len(fleet.nodes))

    def test_filters_without_javascript(self, new_page: Callable[..., Any], fleet: Fleet,
                                        expect: Any) -> None:
        """The filter form is a plain GET: search and state together, no script needed."""
        page = new_page(javascript=False)
        page.goto("/ui/")
        page.fill("#search", "rack2")
        page.select_option("#state-filter", "finished")
        page.click("#apply")
        expect(page).to_have_url(re.compile(r"[?&]state=finished(&|$)"))
        expect(page.locator("tr.node-row")).to_have_count(1)
        assert row_uuids(page) == [fleet.nodes["rack2-lenovo-03"].uuid]

    def test_pager(self, page: Any, fleet: Fleet, expect: Any) -> None:
        """Pages of two rows: three pages, each of other nodes, together the whole fleet."""
        page.goto("/ui/?sort=name&desc=0&limit=2")
        expect(page.locator("#total")).to_have_text(str(len(fleet.nodes)))
        expect(page.locator("#prev-page")).to_have_count(0)
        seen: list[str] = []
        for number in range(3):
            expect(page.locator("tr.node-row")).to_have_count(2)
            expect(page.locator("#page-info")).not_to_be_empty()
            seen += row_uuids(page)
            if number < 2:
                page.click("#next-page")
                expect(page.locator("#prev-page")).to_have_count(1)
        expect(page.locator("#next-page")).to_have_count(0)
        assert sorted(seen) == sorted(node.uuid for node in fleet.all)


class TestNodePage:
    def test_hardware_disks_nics_and_lldp(self, page: Any, fleet: Fleet, expect: Any,
                                           screenshot: Screenshot) -> None:
        node = fleet.nodes["rack2-lenovo-03"]
        machine = node.machine
        page.goto("/ui/")
        row(page, node).locator("a.node-link").click()
        expect(page).to_have_url(f"{fleet.url}/ui/nodes/{node.uuid}")
        expect(page.locator("#node-title")).to_have_text(node.name)
        expect(page.locator("#node-state")).to_contain_text("finished")
        expect(page.locator("#node-error")).to_have_count(0)
        expect(page.locator("#hw-system")).to_contain_text(machine.serial_number)
        expect(page.locator("#hw-cpu")).to_contain_text(machine.cpu.model_name)
        expect(page.locator("#hw-memory tr.dimm")).to_have_count(len(machine.dimms))
        disks = page.locator("#hw-disks tr.disk")
        expect(disks).to_have_count(len(machine.disks))
        for disk in machine.disks:
            expect(disks.filter(has_text=disk.name)).to_have_count(1)
        nics = page.locator("#hw-nics tr.nic")
        expect(nics).to_have_count(len(machine.nics))
        heard = [nic for nic in machine.nics if nic.switch is not None]
        assert heard, "the simulated machine should hear LLDP on some NIC"
        for nic in heard:
            assert nic.switch is not None
            line = nics.filter(has_text=nic.mac_address)
            expect(line.locator("td.lldp-switch")).to_contain_text(nic.switch.system_name)
            expect(line.locator("td.lldp-port")).to_contain_text(nic.switch.port_id)
        expect(page.locator("#hw-pci tr.pci")).to_have_count(len(machine.pci_devices))
        assert '"inventory"' in (page.locator("#stored-data pre").text_content() or "")
        screenshot(page, "node-desktop")

    def test_failed_node_shows_its_error(self, page: Any, fleet: Fleet, expect: Any,
                                         screenshot: Screenshot) -> None:
        page.goto(f"/ui/nodes/{fleet.failed.uuid}")
        expect(page.locator("#node-title")).to_have_text(fleet.failed.name)
        expect(page.locator("#node-state")).to_contain_text("error")
        expect(page.locator("#node-error")).to_contain_text(FAIL_MESSAGE)
        screenshot(page, "node-failed")

    def test_history_and_diff(self, page: Any, fleet: Fleet, expect: Any,
                              screenshot: Screenshot) -> None:
        node = fleet.changed
        assert node.before is not None
        page.goto(f"/ui/nodes/{node.uuid}")
        expect(page.locator("#history tr.version")).to_have_count(2)
        expect(page.locator('#history tr.version[data-version="2"]')).to_have_count(1)
        expect(page.locator("#diff-summary")).not_to_be_empty()
        old_disk, new_disk = node.before.disks[-1], node.machine.disks[-1]
        expect(page.locator("#diff .diff-old")).to_contain_text(str(old_disk.serial))
        expect(page.locator("#diff .diff-new")).to_contain_text(str(new_disk.serial))
        expect(page.locator("#hw-disks tr.disk").filter(has_text=str(new_disk.serial))) \
            .to_have_count(1)
        expect(page.locator("#diff-summary")).to_contain_text(node.machine.firmware_version)
        summary = page.locator("#diff-summary").inner_text()
        screenshot(page, "node-diff")
        page.goto(f"/ui/nodes/{node.uuid}?from=1&to=2")
        expect(page.locator("#diff-summary")).to_have_text(summary)
        page.goto(f"/ui/nodes/{node.uuid}?from=2&to=2")
        expect(page.locator("#diff-summary")).not_to_have_text(summary)

    def test_unknown_node_is_a_404_page(self, page: Any) -> None:
        response = page.goto(f"/ui/nodes/{uuid_module.uuid4()}")
        assert response is not None and response.status == 404
        assert response.headers["content-type"].startswith("text/html")


def test_phone_width_has_no_horizontal_scroll(new_page: Callable[..., Any], fleet: Fleet,
                                              expect: Any, screenshot: Screenshot) -> None:
    page = new_page(width=375, height=740)
    page.goto("/ui/")
    expect(page.locator("tr.node-row")).to_have_count(len(fleet.nodes))
    assert no_horizontal_scroll(page)
    screenshot(page, "fleet-phone")
    page.goto(f"/ui/nodes/{fleet.changed.uuid}")
    expect(page.locator("#diff")).to_be_visible()
    assert no_horizontal_scroll(page)
    old_box = page.locator("#diff .diff-old").bounding_box()
    new_box = page.locator("#diff .diff-new").bounding_box()
    assert old_box and new_box and new_box["y"] >= old_box["y"] + old_box["height"] - 1
    screenshot(page, "node-phone")


def test_http_basic_challenge_without_credentials(new_page: Callable[..., Any],
                                                  fleet: Fleet) -> None:
    """The 401 carries a Basic challenge: a browser would prompt; headless Chromium, which
    cannot, fails the navigation as an authentication it could not complete."""
    page = new_page(credentials=False)
    with (page.expect_response(f"{fleet.url}/ui/") as answer,
          pytest.raises(PlaywrightError, match="ERR_INVALID_AUTH_CREDENTIALS")):
        page.goto("/ui/")
    response = answer.value
    assert response.status == 401
    assert response.headers["www-authenticate"].startswith("Basic realm=")


def test_http_basic_wrong_password(new_page: Callable[..., Any], expect: Any) -> None:
    """Refused credentials end on the 401 page itself, HTML rather than JSON."""
    page = new_page(credentials={"username": USER, "password": "wrong"})
    response = page.goto("/ui/")
    assert response is not None and response.status == 401
    assert response.headers["www-authenticate"].startswith("Basic realm=")
    assert response.headers["content-type"].startswith("text/html")
    expect(page.locator("h1")).to_be_visible()


def test_http_basic_credentials_open_the_page(new_page: Callable[..., Any]) -> None:
    page = new_page(credentials={"username": USER, "password": PASSWORD})
    response = page.goto("/ui/")
    assert response is not None and response.status == 200
