"""The introspection endpoints over FakeIronic: status codes, bodies and messages."""

from __future__ import annotations

import time

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client

V = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}


def wait_state(client: TestClient, uuid: str, state: str, timeout: float = 30) -> dict:
    """Poll until the record is in ``state`` (the bound only stops a hung test: a loaded
    machine may take seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/introspection/{uuid}").json()
        if body.get("state") == state:
            return body
        if time.monotonic() > deadline:
            raise AssertionError(f"node {uuid} never reached {state}: {body}")
        time.sleep(0.02)


def drain(client: TestClient) -> None:
    """Wait for the app's background work (abort, reapply, finishing steps) to end."""
    client.portal.call(client.app.state.services.background.drain)  # type: ignore[union-attr,attr-defined]


def ramdisk(bmc: str, error: str | None = None) -> dict:
    return {"inventory": {"bmc_address": bmc, "interfaces": [], "cpu": {}, "memory": {}},
            "error": error}


class TestStart:
    def test_start_and_status(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """A managed start answers 202 {} and the node reaches waiting after a reboot."""
        node = fake_ironic.add_node(driver_info={"ipmi_address": "192.0.2.10"},
                                    macs=["52:54:00:00:00:01"])
        response = client.post(f"/v1/introspection/{node['uuid']}")
        assert response.status_code == 202 and response.text == "{}\n"
        body = wait_state(client, node["uuid"], "waiting")
        assert body["finished"] is False and body["error"] is None and body["finished_at"] is None
        assert body["links"] == [{"href": f"http://testserver/v1/introspection/{node['uuid']}",
                                  "rel": "self"}]
        assert ("set_power_state", (node["uuid"], "rebooting")) in fake_ironic.calls

    def test_start_by_name_unmanaged(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """A name is resolved and manage_boot=0 does no power action."""
        node = fake_ironic.add_node(name="rack1-node1", macs=["52:54:00:00:00:02"])
        assert client.post("/v1/introspection/rack1-node1?manage_boot=0").status_code == 202
        assert client.get("/v1/introspection/rack1-node1").json()["state"] == "waiting"
        assert not [c for c in fake_ironic.calls if c[0] in ("set_power_state", "set_boot_device")]
        assert client.get(f"/v1/introspection/{node['uuid']}").json()["uuid"] == node["uuid"]

    def test_unknown_node(self, client: TestClient) -> None:
        """An unknown name is a 404 naming it."""
        response = client.post("/v1/introspection/nope")
        assert response.status_code == 404
        assert error_of(response) == "Node nope was not found in Ironic"

    def test_bad_manage_boot(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """manage_boot must be a boolean spelling."""
        node = fake_ironic.add_node()
        response = client.post(f"/v1/introspection/{node['uuid']}?manage_boot=maybe")
        assert response.status_code == 400
        assert error_of(response) == "Invalid boolean value for manage_boot: maybe"

    def test_bad_provision_state(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Active nodes cannot be introspected without permit_active_introspection."""
        node = fake_ironic.add_node(provision_state="active")
        response = client.post(f"/v1/introspection/{node['uuid']}")
        assert response.status_code == 400
        assert error_of(response).startswith('Invalid provision state for introspection: "active"')

    def test_no_lookup_attributes(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Unmanaged start of a node with no ports nor BMC fails synchronously."""
        node = fake_ironic.add_node()
        response = client.post(f"/v1/introspection/{node['uuid']}?manage_boot=false")
        assert response.status_code == 400 and error_of(response).startswith("No lookup attributes")
        assert client.get(f"/v1/introspection/{node['uuid']}").json()["state"] == "error"

    def test_restart_while_waiting_and_refused_while_processing(self, client: TestClient,
                                                                 fake_ironic: FakeIronic) -> None:
        """Two starts in a row both succeed (the second restarts the first)."""
        node = fake_ironic.add_node(macs=["52:54:00:00:00:03"])
        assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
        assert client.post(f"/v1/introspection/{node['uuid']}").status_code == 202
        wait_state(client, node["uuid"], "waiting")


class TestAbort:
    def test_abort_waiting(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Abort of a waiting node answers 202, then powers it off and ends in error."""
        node = fake_ironic.add_node(macs=["52:54:00:00:00:04"])
        client.post(f"/v1/introspection/{node['uuid']}")
        wait_state(client, node["uuid"], "waiting")
        response = client.post(f"/v1/introspection/{node['uuid']}/abort")
        assert response.status_code == 202 and response.text == "{}\n"
        body = wait_state(client, node["uuid"], "error")
        assert body["error"] == "Canceled by operator" and body["finished"]
        assert fake_ironic.calls[-1] == ("set_power_state", (node["uuid"], "power off"))
        assert client.post(f"/v1/introspection/{node['uuid']}/abort").status_code == 202
        drain(client)
        assert client.get(f"/v1/introspection/{node['uuid']}").json() == body  # nothing changed

    def test_abort_unknown(self, client: TestClient) -> None:
        """Abort of a node without record is a 404."""
        uuid = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
        response = client.post(f"/v1/introspection/{uuid}/abort")
        assert response.status_code == 404
        assert error_of(response) == f"Could not find node {uuid} in cache"


class TestContinue:
    def test_not_json(self, client: TestClient) -> None:
        """A body that is not JSON is a 400, not a 500."""
        response = client.post("/v1/continue", content=b"{not json")
        assert response.status_code == 400
        assert error_of(response) == "Invalid data: expected a JSON object, got None"

    @pytest.mark.parametrize("body,kind", [("[1]", "list"), ("3", "int"), ('"x"', "str"),
                                           ("null", "NoneType")])
    def test_not_object(self, client: TestClient, body: str, kind: str) -> None:
        """A JSON body that is not an object names its type."""
        response = client.post("/v1/continue", content=body.encode())
        assert error_of(response) == f"Invalid data: expected a JSON object, got {kind}"

    def test_too_large(self, client: TestClient) -> None:
        """Bodies over the limit get 413 with the error shape."""
        response = client.post("/v1/continue", content=b"{" + b" " * (9 * 1024 * 1024) + b"}")
        assert response.status_code == 413 and "too large" in error_of(response)

    def test_unknown_node(self, client: TestClient) -> None:
        """Data matching nothing is a 400 listing the lookup failure."""
        response = client.post("/v1/continue", json=ramdisk("192.0.2.99"))
        assert response.status_code == 400
        assert error_of(response) == (
            "The following failures happened during running pre-processing hooks:\n"
            "Look up error: Could not find a node for attributes {'bmc_address': ['192.0.2.99']}")

    def test_processed_by_bmc(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Data whose BMC matches a waiting node finishes it and answers its UUID."""
        node = fake_ironic.add_node(driver_info={"ipmi_address": "192.0.2.11"})
        client.post(f"/v1/introspection/{node['uuid']}")
        wait_state(client, node["uuid"], "waiting")
        response = client.post("/v1/continue", json=ramdisk("192.0.2.11"))
        assert response.status_code == 200 and response.json() == {"uuid": node["uuid"]}
        body = wait_state(client, node["uuid"], "finished")
        assert body["finished"] and body["error"] is None
        assert ("set_power_state", (node["uuid"], "power off")) in fake_ironic.calls
        stored = client.get(f"/v1/introspection/{node['uuid']}/data/unprocessed").json()
        assert stored["inventory"]["bmc_address"] == "192.0.2.11"

    def test_processed_without_storing_data(self, tmp_path, fake_ironic: FakeIronic) -> None:  # type: ignore[no-untyped-def]
        """store_data = none (upstream's default): processing finishes, nothing is kept."""
        url = f"sqlite:///{tmp_path / 'none.sqlite'}"
        migrate.upgrade(url)
        settings = load_settings(overrides={"database": {"connection": url},
                                            "DEFAULT": {"introspection_delay": 0},
                                            "processing": {"store_data": "none"}})
        node = fake_ironic.add_node(driver_info={"ipmi_address": "192.0.2.12"})
        with make_client(settings, fake_ironic, ExtensionRegistry()) as client:
            client.post(f"/v1/introspection/{node['uuid']}")
            wait_state(client, node["uuid"], "waiting")
            response = client.post("/v1/continue", json=ramdisk("192.0.2.12"))
            assert response.status_code == 200 and response.json() == {"uuid": node["uuid"]}
            assert wait_state(client, node["uuid"], "finished")["error"] is None
            missing = client.get(f"/v1/introspection/{node['uuid']}/data", headers=V)
            assert missing.status_code == 404
            assert "not configured to store data" in error_of(missing)


class TestList:
    def test_list_validation(self, client: TestClient) -> None:
        """Bad marker, limit and state values get the upstream messages."""
        cases = {"marker=abc": "Bad request: Marker not UUID-like",
                 "limit=x": "Bad request: invalid literal for int() with base 10: 'x'",
                 "limit=-1": "Bad request: Limit cannot be negative",
                 "limit=1001": "Bad request: Limit over 1000",
                 "state=waiting,bogus,nope": 'Bad request: State(s) "bogus, nope" are not valid'}
        for query, message in cases.items():
            response = client.get(f"/v1/introspection?{query}")
            assert response.status_code == 400 and error_of(response) == message, query
        response = client.get("/v1/introspection?marker=0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1")
        assert response.status_code == 404
        assert error_of(response) == "The requested node was not found."

    def test_list_pages(self, client: TestClient, fake_ironic: FakeIronic) -> None:
        """Pages follow started_at descending."""
        uuids = []
        for i in range(3):
            node = fake_ironic.add_node(macs=[f"52:54:00:00:01:0{i}"])
            client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0")
            uuids.append(node["uuid"])
            time.sleep(0.01)
        listed = [s["uuid"] for s in client.get("/v1/introspection").json()["introspection"]]
        assert listed == uuids[::-1]
        page = client.get(f"/v1/introspection?marker={listed[0]}&limit=1").json()["introspection"]
        assert [s["uuid"] for s in page] == [listed[1]]
        waiting = client.get("/v1/introspection?state=finished").json()["introspection"]
        assert waiting == []

    def test_repeated_parameters_take_the_first(self, client: TestClient,
                                                fake_ironic: FakeIronic) -> None:
        """A parameter given twice counts by its first value, as upstream's Flask reads it."""
        node = fake_ironic.add_node(macs=["52:54:00:00:02:01"])
        client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0")
        first = client.get("/v1/introspection?state=waiting&state=finished").json()
        assert [s["uuid"] for s in first["introspection"]] == [node["uuid"]]
        assert client.get("/v1/introspection?state=finished&state=waiting").json() == {
            "introspection": []}
        response = client.get("/v1/introspection?limit=x&limit=5")
        assert response.status_code == 400 and "'x'" in error_of(response)


class TestData:
    def test_no_data(self, client: TestClient) -> None:
        """Nothing stored is a 404 naming the processed flag."""
        uuid = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
        response = client.get(f"/v1/introspection/{uuid}/data")
        assert response.status_code == 404
        assert error_of(response) == f"Introspection data not found for node {uuid}, processed=True"

    def test_reapply_bad_body(self, client: TestClient) -> None:
        """A reapply body that is not an object is a 400."""
        uuid = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
        response = client.post(f"/v1/introspection/{uuid}/data/unprocessed", content=b"[1,2]")
        assert response.status_code == 400 and error_of(response).endswith("got list")


class RecordingFilter:
    """A PXE filter that remembers what it was told."""

    def __init__(self) -> None:
        self.allowed: set[str] = set()
        self.denied: set[str] = set()

    async def allow(self, macs: set[str]) -> None:
        self.allowed |= macs

    async def deny(self, macs: set[str]) -> None:
        self.denied |= macs

    async def start(self) -> None: ...

    async def reconcile(self) -> None: ...

    async def stop(self) -> None: ...


def test_failed_introspection_closes_filter(settings: Settings, fake_ironic: FakeIronic) -> None:
    """A ramdisk error closes the PXE filter for the node's MACs at once."""
    recorder = RecordingFilter()
    with make_client(settings, fake_ironic, ExtensionRegistry.from_settings(settings)) as client:
        client.app.state.services.pxe_filter = recorder
        _fail_with_ramdisk_error(client, fake_ironic, recorder)


def _fail_with_ramdisk_error(client: TestClient, fake_ironic: FakeIronic,
                             recorder: RecordingFilter) -> None:
    node = fake_ironic.add_node(driver_info={"ipmi_address": "192.0.2.12"},
                                macs=["52:54:00:00:02:01"])
    client.post(f"/v1/introspection/{node['uuid']}")
    wait_state(client, node["uuid"], "waiting")
    assert recorder.allowed == {"52:54:00:00:02:01"} and not recorder.denied
    response = client.post("/v1/continue", json=ramdisk("192.0.2.12", error="boom"))
    assert response.status_code == 400
    assert recorder.denied == {"52:54:00:00:02:01"}
