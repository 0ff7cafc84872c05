"""Browser fixtures: Debian's Chromium driven by Playwright, and a fleet introspected through a
real MetalScope and a real Ironic by simulated ramdisks.

Chromium comes from the system (``apt-get install chromium``, which ``.ci/run`` does), never
from a download: ``METALSCOPE_CHROMIUM`` names another executable. Without it (or without the
``playwright`` package) the tests are skipped, except under CI, where they fail.

Screenshots go to ``build/screenshots/`` (``METALSCOPE_SCREENSHOTS`` names another folder);
the folder is printed at the end of the run.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bcrypt
import httpx
import pytest

from metalscope.simulator import (
    SimulatedNode,
    change_firmware,
    make_node,
    ramdisk_data,
    replace_disk,
)
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the playwright_driver fixture skips the tests (fails them under CI)
    class PlaywrightError(Exception):  # type: ignore[no-redef]
        """Stands for Playwright's Error when the package is missing."""

    class PlaywrightTimeout(PlaywrightError):  # type: ignore[no-redef]
        """Stands for Playwright's TimeoutError when the package is missing."""

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

#: The http_basic user of the fleet's MetalScope.
USER, PASSWORD = "operator", "fleet-secret"
#: Seed of the simulated fleet (other tests use other seeds, so no MAC is enrolled twice).
SEED = 1515
#: What the fail rule answers for the node it matches.
FAIL_MESSAGE = "Firmware too old for this cloud: update the BIOS first"
#: Chromium as root in a container: no sandbox; nothing contacts the network on its own.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]

_saved_screenshots: list[Path] = []


def skip_or_fail(reason: str) -> None:
    """Skip, except under CI, where a missing component is an error."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_executable() -> Path:
    """The system's Chromium: ``METALSCOPE_CHROMIUM``, else ``chromium`` on the PATH."""
    named = os.environ.get("METALSCOPE_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    path = Path(named)
    if not (path.is_file() and os.access(path, os.X_OK)):
        skip_or_fail(f"Chromium is not installed: {path} is missing (apt-get install chromium, "
                     "as .ci/run does, or point METALSCOPE_CHROMIUM at a Chromium executable)")
    return path


@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's sync API (its driver only: the browser is the system's). Per module: its
    event loop is closed before the asyncio tests of other modules run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("The playwright package is not installed (run scripts/setup)")
        return
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright, chromium_executable: Path) -> Iterator[Browser]:
    """One headless Chromium per module."""
    launched = playwright_driver.chromium.launch(executable_path=str(chromium_executable),
                                                 headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session")
def screenshot_dir(repo_root: Path) -> Path:
    folder = Path(os.environ.get("METALSCOPE_SCREENSHOTS") or repo_root / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def screenshot(screenshot_dir: Path) -> Callable[..., Path]:
    """``screenshot(page, "name")`` saves ``name.png`` (the whole page) and returns its path."""
    def save(page: Any, name: str, full_page: bool = True) -> Path:
        path = screenshot_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        _saved_screenshots.append(path)
        return path
    return save


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _saved_screenshots:
        folder = _saved_screenshots[0].parent
        terminalreporter.write_line(
            f"browser screenshots: {len(_saved_screenshots)} in {folder}")


# -- the fleet ---------------------------------------------------------------------------------

@dataclass
class FleetNode:
    """An enrolled node and the simulated machine whose data its last introspection posted."""

    uuid: str
    name: str
    machine: SimulatedNode
    #: The machine of an earlier introspection, when the hardware changed since.
    before: SimulatedNode | None = None


@dataclass
class Fleet:
    """A MetalScope (http_basic) whose nodes were introspected by simulated ramdisks."""

    service: LocalMetalScope
    nodes: dict[str, FleetNode]
    failed: FleetNode
    changed: FleetNode
    waiting: FleetNode

    @property
    def url(self) -> str:
        return self.service.url

    @property
    def all(self) -> list[FleetNode]:
        return list(self.nodes.values())

    @property
    def finished(self) -> list[FleetNode]:
        return [node for node in self.all if node not in (self.failed, self.waiting)]


def _machines() -> dict[str, SimulatedNode]:
    """Different hardware: vendors, architectures, a virtual machine."""
    picks: dict[str, dict[str, Any]] = {
        "rack1-dell-01": {"vendor": "dell"},
        "rack1-hpe-02": {"vendor": "hpe"},
        "rack2-lenovo-03": {"vendor": "lenovo"},
        "rack2-smc-04": {"vendor": "supermicro"},
        "lab-vm-05": {"virtual": True},
        "rack3-dell-06": {"vendor": "dell"},
    }
    return {name: make_node(SEED, index, name=name, **selectors)
            for index, (name, selectors) in enumerate(picks.items(), start=1)}


def wait_until(check: Callable[[], Any], timeout: float = 30) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
    return result


def _status(api: httpx.Client, uuid: str) -> dict[str, Any]:
    return api.get(f"/v1/introspection/{uuid}").json()  # type: ignore[no-any-return]


def start(api: httpx.Client, uuid: str) -> str:
    """Start an introspection without managed boot and wait for ``waiting``; returns the
    previous ``started_at`` (empty for the first)."""
    before = api.get(f"/v1/introspection/{uuid}")
    previous = str(before.json()["started_at"]) if before.status_code == 200 else ""
    response = api.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false"})
    assert response.status_code == 202, response.text
    wait_until(lambda: _status(api, uuid)["state"] == "waiting")
    return previous


def introspect(api: httpx.Client, uuid: str, machine: SimulatedNode,
               expect: int = 200) -> dict[str, Any]:
    """One whole introspection: start, the ramdisk's post, the end of processing."""
    previous = start(api, uuid)
    response = api.post("/v1/continue", json=ramdisk_data(machine))
    assert response.status_code == expect, response.text

    def done() -> dict[str, Any] | None:
        status = _status(api, uuid)
        ended = status["state"] in ("finished", "error") and status["started_at"] > previous
        return status if ended else None
    return wait_until(done)  # type: ignore[no-any-return]


def _add_rule(api: httpx.Client, rule: dict[str, Any]) -> None:
    response = api.post("/v1/rules", json=rule)
    assert response.status_code == 201, response.text


def _htpasswd(folder: Path) -> Path:
    path = folder / "htpasswd"
    digest = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"{USER}:{digest}\n")
    return path


@pytest.fixture(scope="module")
def fleet(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    """Six nodes of different hardware: four finished, one failed by a rule, one still
    waiting for its ramdisk; one of the finished ones introspected twice with a disk replaced
    and the BIOS flashed in between (so it has a history and a diff)."""
    workdir = tmp_path_factory.mktemp("browser")
    options = {"DEFAULT": {"auth_strategy": "http_basic",
                           "http_basic_auth_user_file": str(_htpasswd(workdir))},
               "processing": {"processing_hooks": "$default_processing_hooks,lldp_basic"}}
    machines = _machines()
    enrolled: list[str] = []
    with LocalMetalScope(workdir, ironic.url, options=options) as service, \
            httpx.Client(base_url=service.url, auth=(USER, PASSWORD), timeout=60) as api:
        try:
            nodes = {}
            for name, machine in machines.items():
                node = ironic.enroll_node(name, {}, [machine.pxe_mac])
                enrolled.append(node["uuid"])
                nodes[name] = FleetNode(node["uuid"], name, machine)
            yield _introspect_fleet(service, api, nodes)
        finally:
            for uuid in enrolled:
                ironic.delete_node(uuid)


def _introspect_fleet(service: LocalMetalScope, api: httpx.Client,
                      nodes: dict[str, FleetNode]) -> Fleet:
    failed, changed, waiting = nodes["rack2-smc-04"], nodes["rack1-dell-01"], nodes["rack3-dell-06"]
    _add_rule(api, {"description": "Dell servers get the CUSTOM_DELL trait",
                    "conditions": [{"op": "contains", "value": "Dell",
                                    "field": "inventory.system_vendor.manufacturer"}],
                    "actions": [{"action": "add-trait", "name": "CUSTOM_DELL"}]})
    _add_rule(api, {"description": "Refuse firmware that is too old",
                    "conditions": [{"op": "eq", "field": "inventory.system_vendor.serial_number",
                                    "value": failed.machine.serial_number}],
                    "actions": [{"action": "fail", "message": FAIL_MESSAGE}]})
    for node in nodes.values():
        if node is failed:
            assert introspect(api, node.uuid, node.machine, expect=400)["state"] == "error"
        elif node is waiting:
            start(api, node.uuid)
        else:
            assert introspect(api, node.uuid, node.machine)["state"] == "finished"
    changed.before = changed.machine
    changed.machine = change_firmware(replace_disk(changed.machine))
    assert introspect(api, changed.uuid, changed.machine)["state"] == "finished"
    return Fleet(service, nodes, failed, changed, waiting)


# -- pages -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def expect(playwright_driver: Playwright) -> Any:
    """Playwright's retrying assertions."""
    from playwright.sync_api import expect as playwright_expect
    playwright_expect.set_options(timeout=10_000)
    return playwright_expect


@pytest.fixture
def new_page(browser: Browser, fleet: Fleet) -> Iterator[Callable[..., Any]]:
    """``new_page(width=1280, credentials=True, javascript=True)``: a page in a fresh browser
    context whose relative URLs go to the fleet's MetalScope (with the http_basic user unless
    told not)."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 800, credentials: Any = True,
             javascript: bool = True) -> Any:
        if credentials is True:
            credentials = {"username": USER, "password": PASSWORD}
        context = browser.new_context(base_url=fleet.url, http_credentials=credentials or None,
                                      viewport={"width": width, "height": height},
                                      java_script_enabled=javascript)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized page with the http_basic user's credentials."""
    return new_page()
