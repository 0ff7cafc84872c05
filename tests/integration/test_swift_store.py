"""``[processing]store_data = swift`` against a real Swift, a real Ironic, and upstream's
ironic-inspector 12.5.0 configured the same way.

* Data upstream stored in Swift is served by MetalScope as upstream serves it (and the
  missing-object 400 is word for word upstream's), and reapplied, with the effect in Ironic.
* Data MetalScope stores lands under upstream's object names, and upstream serves it.
* Swift down: GET data and the callback answer 400 with upstream's messages, the record ends
  in error; never a 500.
* ``metalscope data migrate`` between the database and Swift, both ways, with its report.
* Keystone: Swift reached through keystoneauth's password plugin and the service catalog;
  ``ironic-inspector-status upgrade check`` reaches it too, and names a wrong password.
"""

from __future__ import annotations

import configparser
import json
import sqlite3
import subprocess
import sys
import uuid as uuid_module
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.simulator.inventory import SimulatedNode
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.keystone import LocalKeystone
from metalscope.testing.service import LocalMetalScope
from metalscope.testing.swift import LocalSwift
from metalscope.testing.upstream import LocalUpstreamInspector
from tests.integration.handover import start, wait_status
from tests.integration.upstream_databases import metalscope_db

pytestmark = pytest.mark.integration

VERSION = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
SEED = 7311
CONTAINER = "ironic-inspector"
NodeFactory = Callable[..., dict[str, Any]]


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers=VERSION, timeout=60)


def enroll(make_node: NodeFactory, index: int) -> tuple[str, SimulatedNode]:
    machine = make_machine(seed=SEED, index=index, virtual=False)
    node = make_node(driver_info={"ipmi_address": machine.bmc_address}, macs=[machine.pxe_mac])
    return node["uuid"], machine


def introspect(api: httpx.Client, uuid: str, machine: SimulatedNode) -> dict[str, Any]:
    start(api, uuid)
    answer = api.post("/v1/continue", json=ramdisk_data(machine))
    assert answer.status_code == 200, answer.text
    return wait_status(api, uuid, lambda s: s["finished"])


def swift_options(swift: LocalSwift, account: str, **extra: Any) -> dict[str, dict[str, Any]]:
    return {"processing": {"store_data": "swift"},
            "swift": {**swift.options(account), **extra}}


def data_answers(api: httpx.Client, *uuids: str) -> dict[str, tuple[int, str]]:
    paths = [f"/v1/introspection/{u}/data{suffix}" for u in uuids
             for suffix in ("", "/unprocessed")]
    return {path: (r.status_code, r.text) for path in paths for r in [api.get(path)]}


def stored(swift: LocalSwift, account: str, name: str) -> httpx.Response:
    response = swift.get_object(account, CONTAINER, name)
    assert response.status_code == 200, (name, response.status_code)
    return response


def test_upstream_data_served_and_reapplied_by_metalscope(
        tmp_path: Path, ironic: LocalIronic, make_node: NodeFactory, upstream_bin: Path,
        swift: LocalSwift) -> None:
    account = "handover"
    options = swift_options(swift, account)
    database = f"sqlite:///{tmp_path / 'inspector.sqlite'}"
    uuid, machine = enroll(make_node, 0)
    missing = str(uuid_module.uuid4())
    with LocalUpstreamInspector(tmp_path / "upstream", ironic.url, upstream_bin,
                                database_url=database, options=options) as upstream, \
            client(upstream.url) as api:
        assert introspect(api, uuid, machine)["error"] is None
        expected = data_answers(api, uuid, missing)

    # Upstream's objects, under upstream's names, are what it serves.
    data_path = f"/v1/introspection/{uuid}/data"
    assert stored(swift, account, f"inspector_data-{uuid}").text == expected[data_path][1]
    unprocessed = json.loads(stored(swift, account, f"inspector_data-{uuid}-UNPROCESSED").text)
    assert unprocessed == {k: v for k, v in ramdisk_data(machine).items() if k != "logs"}
    status, text = expected[f"/v1/introspection/{missing}/data"]
    assert status == 400 and json.loads(text)["error"]["message"].startswith(
        f"Swift failed to get object inspector_data-{missing} in container {CONTAINER}. Error "
        "was: NotFoundException: 404: Client Error for url: ")
    before = stored(swift, account, f"inspector_data-{uuid}").headers["X-Timestamp"]

    adopted = metalscope_db(tmp_path / "metalscope", database, "upgrade")
    assert adopted.returncode == 0, adopted.stderr
    with LocalMetalScope(tmp_path / "metalscope", ironic.url,
                         options={**options, "database": {"connection": database}}) as ms, \
            client(ms.url) as api:
        answers = data_answers(api, uuid, missing)
        assert {p: (s, json.loads(t)) for p, (s, t) in answers.items()} == {
            p: (s, json.loads(t)) for p, (s, t) in expected.items()}
        assert answers[data_path] == expected[data_path]  # the stored text itself

        rule = {"actions": [{"action": "set-attribute", "path": "/extra/swift_reapplied",
                             "value": "yes"}]}
        assert api.post("/v1/rules", json=rule).status_code == 201
        assert api.post(f"/v1/introspection/{uuid}/data/unprocessed").status_code == 202
        done = wait_status(api, uuid, lambda s: s["state"] != "reapplying")
        assert done["state"] == "finished" and done["error"] is None
        assert ironic.get_node(uuid)["extra"]["swift_reapplied"] == "yes"
        rewritten = stored(swift, account, f"inspector_data-{uuid}")
        assert float(rewritten.headers["X-Timestamp"]) > float(before)
        assert rewritten.json() == api.get(data_path).json()


def test_metalscope_data_under_upstreams_names(
        tmp_path: Path, ironic: LocalIronic, make_node: NodeFactory, upstream_bin: Path,
        swift: LocalSwift) -> None:
    account = "metalscope-written"
    uuid, machine = enroll(make_node, 1)
    posted = ramdisk_data(machine)
    with LocalMetalScope(tmp_path / "metalscope", ironic.url,
                         options=swift_options(swift, account, delete_after=3600)) as ms, \
            client(ms.url) as api:
        assert introspect(api, uuid, machine)["error"] is None
        processed = stored(swift, account, f"inspector_data-{uuid}")
        unprocessed = stored(swift, account, f"inspector_data-{uuid}-UNPROCESSED")
        assert processed.text == api.get(f"/v1/introspection/{uuid}/data").text
        assert unprocessed.json() == {k: v for k, v in posted.items() if k != "logs"}
        assert "logs" in posted and "logs" not in processed.json()
        for response in (processed, unprocessed):
            assert int(response.headers["X-Delete-At"]) > float(response.headers["X-Timestamp"])

        body = {**posted, "extra_marker": "reapplied with a body"}
        assert api.post(f"/v1/introspection/{uuid}/data/unprocessed",
                        json=body).status_code == 202
        wait_status(api, uuid, lambda s: s["state"] != "reapplying")
        unprocessed = stored(swift, account, f"inspector_data-{uuid}-UNPROCESSED")
        assert unprocessed.json()["extra_marker"] == "reapplied with a body"
        expected = data_answers(api, uuid)
    assert sorted(swift.list_container(account, CONTAINER)) == [
        f"inspector_data-{uuid}", f"inspector_data-{uuid}-UNPROCESSED"]

    # Upstream, configured the same, serves what MetalScope stored (no record needed).
    with LocalUpstreamInspector(tmp_path / "upstream", ironic.url, upstream_bin,
                                options=swift_options(swift, account)) as upstream, \
            client(upstream.url) as api:
        assert data_answers(api, uuid) == expected


def test_swift_down_is_400_and_the_node_ends_in_error(
        tmp_path: Path, ironic: LocalIronic, make_node: NodeFactory, swift: LocalSwift) -> None:
    account = "outage"
    uuid, machine = enroll(make_node, 2)
    base = f"{swift.account_url(account)}/{CONTAINER}"
    with LocalMetalScope(tmp_path / "metalscope", ironic.url,
                         options=swift_options(swift, account)) as ms, \
            client(ms.url) as api:
        start(api, uuid)
        with swift.proxy_stopped():
            got = api.get(f"/v1/introspection/{uuid}/data/unprocessed")
            assert got.status_code == 400
            assert got.json()["error"]["message"].startswith(
                f"Swift failed to get object inspector_data-{uuid}-UNPROCESSED in container "
                f"{CONTAINER}. Error was: Unable to establish connection to "
                f"{base}/inspector_data-{uuid}-UNPROCESSED: ")
            answer = api.post("/v1/continue", json=ramdisk_data(machine))
            assert answer.status_code == 400, answer.text
            message = answer.json()["error"]["message"]
            assert message.startswith(f"Swift failed to create container {CONTAINER}. Error "
                                      f"was: Unable to establish connection to {base}: ")
            status = wait_status(api, uuid, lambda s: s["finished"])
            assert status["state"] == "error" and status["error"] == message
        # Back up: nothing was stored, and saying so is upstream's 400 too.
        got = api.get(f"/v1/introspection/{uuid}/data")
        assert got.status_code == 400 and "NotFoundException: 404" in got.text


def _migrate(config: Path, source: str, target: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "metalscope.cli", "data", "migrate", "--from",
                           source, "--to", target, "--config-file", str(config)],
                          capture_output=True, text=True, timeout=300)


def _rows(database: Path) -> dict[tuple[str, bool], Any]:
    with sqlite3.connect(database) as conn:
        return {(uuid, bool(processed)): json.loads(data) for uuid, processed, data in
                conn.execute("SELECT uuid, processed, data FROM introspection_data")}


def test_data_migrate_round_trip(tmp_path: Path, ironic: LocalIronic, make_node: NodeFactory,
                                 swift: LocalSwift) -> None:
    account = "migration"
    finished, machine = enroll(make_node, 3)
    waiting, _ = enroll(make_node, 4)
    ms = LocalMetalScope(tmp_path / "metalscope", ironic.url,
                         options={"swift": swift.options(account)})
    with ms, client(ms.url) as api:
        introspect(api, finished, machine)
        start(api, waiting)
    database = tmp_path / "metalscope" / "metalscope.sqlite"
    in_database = _rows(database)
    assert set(in_database) == {(finished, True), (finished, False)}

    there = _migrate(ms.config_file, "database", "swift")
    assert there.returncode == 0, there.stdout + there.stderr
    assert sorted(there.stdout.splitlines()[:-1]) == sorted([
        f"{finished} (processed=True): success", f"{finished} (processed=False): success",
        f"{waiting} (processed=True): no content", f"{waiting} (processed=False): no content"])
    assert there.stdout.splitlines()[-1] == (
        "Finished introspection data migration, total records: 4. all records are migrated "
        "successfully.")
    for processed, suffix in ((True, ""), (False, "-UNPROCESSED")):
        assert stored(swift, account, f"inspector_data-{finished}{suffix}").json() == \
            in_database[(finished, processed)]

    with sqlite3.connect(database) as conn:
        conn.execute("DELETE FROM introspection_data")
    back = _migrate(ms.config_file, "swift", "database")
    assert back.returncode == 0, back.stdout + back.stderr
    assert f"{finished} (processed=False): success" in back.stdout.splitlines()
    assert f"{waiting} (processed=True): no content" in back.stdout.splitlines()
    assert _rows(database) == in_database

    for suffix in ("", "-UNPROCESSED"):
        url = f"{swift.account_url(account)}/{CONTAINER}/inspector_data-{finished}{suffix}"
        assert httpx.delete(url, timeout=30).status_code == 204
    again = _migrate(ms.config_file, "database", "swift")
    assert again.returncode == 0, again.stdout + again.stderr
    for processed, suffix in ((True, ""), (False, "-UNPROCESSED")):
        assert stored(swift, account, f"inspector_data-{finished}{suffix}").json() == \
            in_database[(finished, processed)]

    with swift.proxy_stopped():
        failed = _migrate(ms.config_file, "database", "swift")
    assert failed.returncode == 1
    lines = failed.stdout.splitlines()
    assert f"{finished} (processed=True): failed: Swift failed to create container {CONTAINER}" \
        ". Error was: Unable to establish connection to " in "\n".join(lines)
    assert lines[-3:] == ["Finished introspection data migration, total records: 4. Failed to "
                          "migrate:", f"{finished}(processed=True)", f"{finished}(processed=False)"]


def test_swift_through_keystone(tmp_path: Path, ironic: LocalIronic, make_node: NodeFactory,
                                upstream_bin: Path, swift: LocalSwift,
                                keystone: LocalKeystone) -> None:
    proxy = swift.keystone_proxy(keystone)
    options = {"processing": {"store_data": "swift"}, "swift": proxy.options()}
    uuid, machine = enroll(make_node, 5)
    with LocalMetalScope(tmp_path / "metalscope", ironic.url, options=options) as ms, \
            client(ms.url) as api:
        assert introspect(api, uuid, machine)["error"] is None
        expected = data_answers(api, uuid)
    assert all(status == 200 for status, _ in expected.values())
    # Stored in the project's account (read here through the proxy without authentication).
    account = proxy.account_url.rsplit("/AUTH_", 1)[1]
    assert stored(swift, account, f"inspector_data-{uuid}").text == \
        expected[f"/v1/introspection/{uuid}/data"][1]
    assert httpx.get(f"{proxy.account_url}/{CONTAINER}", timeout=30).status_code == 401
    with LocalUpstreamInspector(tmp_path / "upstream", ironic.url, upstream_bin,
                                options=options) as upstream, client(upstream.url) as api:
        assert data_answers(api, uuid) == expected

    # ironic-inspector-status reaches Swift with the same [swift] credentials, or says why not.
    assert _store_check(ms.config_file) == (0, f"store_data = swift: Swift answered; "
                                               f"container {CONTAINER} exists")
    wrong = configparser.ConfigParser(interpolation=None)
    wrong.read(ms.config_file)
    wrong["swift"]["password"] = "not-the-password"
    with open(tmp_path / "wrong.conf", "w") as out:
        wrong.write(out)
    code, details = _store_check(tmp_path / "wrong.conf")
    assert code == 2 and details.startswith(
        "Could not connect to the object storage service: "), details


def _store_check(config: Path) -> tuple[int, str]:
    """``ironic-inspector-status upgrade check --json``'s data store result."""
    done = subprocess.run([str(Path(sys.executable).parent / "ironic-inspector-status"),
                           "--config-file", str(config), "upgrade", "check", "--json"],
                          capture_output=True, text=True, timeout=120)
    found = {check["check"]: check for check in json.loads(done.stdout)["checks"]}
    return found["Introspection data store"]["result"], found["Introspection data store"][
        "details"]
