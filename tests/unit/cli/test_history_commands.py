"""``metalscope history`` and ``metalscope diff`` against the in-process app with seeded
history (the commands' HTTP client is handed the app's test client)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from starlette.testclient import TestClient

from metalscope.cli import main
from metalscope.cli.api_client import ApiClient, ApiOptions
from metalscope.cli.history_format import diff_lines, history_lines
from metalscope.extensions import ExtensionRegistry
from metalscope.settings import load_settings
from metalscope.storage import migrate
from tests.factories import disk
from tests.fakes import FakeIronic
from tests.history_seed import processed, seed
from tests.unit.api.conftest import make_client


@pytest.fixture
def app(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The app with node ``rack-1``: version 2 loses 8 GiB and a disk."""
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    settings = load_settings(overrides={"database": {"connection": url}})
    ironic = FakeIronic()
    node = ironic.add_node(name="rack-1")
    disks = [disk("/dev/sda", serial="S1"), disk("/dev/sdb", serial="S2")]
    seed(settings, node["uuid"], [processed(65536, disks), processed(57344, disks[:1])])
    with make_client(settings, ironic, ExtensionRegistry()) as client:
        yield client, node["uuid"]


def run(client: TestClient, *args: str) -> Result:
    return CliRunner().invoke(main, list(args), obj={"http": client},
                              env={"OS_AUTH_URL": "", "OS_TOKEN": ""})


def test_history_table(app: tuple[TestClient, str]) -> None:
    client, _uuid = app
    result = run(client, "history", "rack-1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["VERSION", "FINISHED", "SOURCE", "ERROR", "CHANGED", "SUMMARY"]
    assert lines[1].split() == ["2", "2026-01-02T12:05:00", "inband", "-", "yes", "summary",
                                "2"]
    assert lines[2].split()[:5] == ["1", "2026-01-01T12:05:00", "inband", "-", "-"]


def test_history_json_is_the_api_document(app: tuple[TestClient, str]) -> None:
    client, uuid = app
    result = run(client, "history", uuid, "--format", "json", "--limit", "1")
    assert result.exit_code == 0, result.output
    assert [v["version"] for v in json.loads(result.output)["history"]] == [2]


def test_diff_default_is_latest_against_previous(app: tuple[TestClient, str]) -> None:
    client, uuid = app
    result = run(client, "diff", "rack-1")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == (f"Node {uuid}: version 1 (2026-01-01T12:05:00) → version 2 "
                        "(2026-01-02T12:05:00)")
    assert [line for line in lines if "total_mb:" in line] == [
        "  ~ total  total_mb: 65536 → 57344"]
    assert "disks" in lines
    removed = [line for line in lines if line.startswith("  - ")]
    assert any("S2" in line for line in removed), lines


def test_diff_range_and_json(app: tuple[TestClient, str]) -> None:
    client, _uuid = app
    result = run(client, "diff", "rack-1", "2", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert document["changed"] is False and document["from"]["version"] == 2


@pytest.mark.parametrize(("args", "message"), [
    (("diff", "rack-1", "5"), "Error: 404: Version 5 of node"),
    (("history", "no-such-node"), "Error: 404: "),
])
def test_errors_are_one_line(app: tuple[TestClient, str], args: tuple[str, ...],
                             message: str) -> None:
    client, _uuid = app
    result = run(client, *args)
    assert result.exit_code == 1
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1


def test_bad_version_argument(app: tuple[TestClient, str]) -> None:
    result = run(app[0], "diff", "rack-1", "zero")
    assert result.exit_code == 2 and "Invalid value" in result.output


def test_unreachable_service() -> None:
    result = CliRunner().invoke(main, ["history", "n", "--url", "http://127.0.0.1:9",
                                       "--timeout", "5"],
                                env={"OS_AUTH_URL": "", "OS_TOKEN": ""})
    assert result.exit_code == 1
    assert result.output.startswith("Error: Cannot reach MetalScope at http://127.0.0.1:9")


def options(**overrides: Any) -> ApiOptions:
    values: dict[str, Any] = {
        "url": None, "token": None, "auth_url": None, "username": None, "password": None,
        "project_name": None, "user_domain_name": "Default", "project_domain_name": "Default",
        "system_scope": None, "interface": "public", "http_user": None, "http_password": None,
        "cacert": None, "insecure": False, "timeout": 5.0}
    return ApiOptions(**{**values, **overrides})


def test_token_and_version_headers_are_sent(app: tuple[TestClient, str]) -> None:
    """A bare token goes out as X-Auth-Token, with the 1.19 version header."""
    client, uuid = app
    seen: list[Any] = []
    client.event_hooks["request"] = [seen.append]
    with ApiClient(options(token="tok"), "1.19", http=client) as api:
        api.get(f"/v1/introspection/{uuid}/history")
    assert seen[0].headers["x-auth-token"] == "tok"
    assert seen[0].headers["x-openstack-ironic-inspector-api-version"] == "1.19"


def test_render_empty_history_and_unchanged_diff() -> None:
    assert history_lines("u", []) == ["No hardware history for node u"]
    document = {"summary": "no hardware change", "from": {"uuid": "u", "version": 1},
                "to": {"uuid": "u", "version": 1}, "memory": {},
                "components": {"disks": {"added": [], "removed": [], "changed": []}}}
    assert diff_lines(document) == ["Node u: version 1 (-) → version 1 (-)",
                                     "no hardware change"]


def test_render_total_memory_when_no_component_shows_it() -> None:
    document = {"summary": "s", "from": {}, "to": {},
                "memory": {"total_mb": {"old": 4096, "new": 2048, "delta": -2048}},
                "components": {}}
    assert diff_lines(document)[2:] == ["", "memory", "  ~ total_mb: 4096 → 2048 (-2048)"]


def test_render_changed_component() -> None:
    document = {"summary": "s", "from": {}, "to": {}, "memory": {}, "components": {
        "nics": {"added": [{"id": "aa:bb", "attributes": {"speed_mbps": 1000}}],
                 "removed": [],
                 "changed": [{"id": "cc:dd", "changes": {"driver": {"old": "e1000",
                                                                    "new": "ixgbe"}}}]}}}
    assert diff_lines(document)[2:] == ["", "nics", "  + aa:bb  speed_mbps=1000",
                                        "  ~ cc:dd  driver: e1000 → ixgbe"]


@pytest.mark.parametrize(("env", "message"), [
    ({"OS_AUTH_URL": "http://127.0.0.1:9/v3", "OS_TOKEN": ""},
     "Error: A Keystone login needs --os-username and --os-password"),
    ({"OS_AUTH_URL": "http://127.0.0.1:9/v3", "OS_USERNAME": "u", "OS_PASSWORD": "p",
      "OS_TOKEN": ""}, "Error: Keystone: "),
])
def test_keystone_problems_are_one_line(env: dict[str, str], message: str) -> None:
    result = CliRunner().invoke(main, ["history", "n"], env=env)
    assert result.exit_code == 1
    assert result.output.startswith(message) and len(result.output.splitlines()) == 1
