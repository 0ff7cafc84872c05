"""Periodic tasks against the real Ironic: timeouts and nodes deleted from Ironic."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def fast_metalscope(ironic: LocalIronic,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """A MetalScope whose introspections time out after 2 s, checked every second, and
    which walks Ironic's nodes once a second."""
    options = {"DEFAULT": {"timeout": 2, "clean_up_period": 1},
               "ironic": {"node_walk_period": 1}}
    with LocalMetalScope(Path(tmp_path_factory.mktemp("fast")), ironic.url,
                         options=options) as service:
        yield service


def poll(api: httpx.Client, uuid: str, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        response = api.get(f"/v1/introspection/{uuid}")
        body = response.json()
        if response.status_code == 404 or body.get("finished") or time.monotonic() > deadline:
            return {"status_code": response.status_code, **body}
        time.sleep(0.2)


def test_timeout(fast_metalscope: LocalMetalScope, make_node: Any) -> None:
    """A node that never calls back ends in error with "Introspection timeout"."""
    node = make_node()
    with httpx.Client(base_url=fast_metalscope.url) as api:
        assert api.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        status = poll(api, node["uuid"])
    assert status["state"] == "error" and status["error"] == "Introspection timeout"


def test_node_deleted_from_ironic(fast_metalscope: LocalMetalScope, ironic: LocalIronic,
                                  make_node: Any) -> None:
    """The record of a node deleted from Ironic disappears when the walk of Ironic's nodes
    reaches it."""
    node = make_node()
    with httpx.Client(base_url=fast_metalscope.url) as api:
        assert api.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        ironic.delete_node(node["uuid"])
        deadline = time.monotonic() + 20
        while api.get(f"/v1/introspection/{node['uuid']}").status_code != 404:
            assert time.monotonic() < deadline, "record was never dropped"
            time.sleep(0.2)
        response = api.get(f"/v1/introspection/{node['uuid']}")
    assert response.json()["error"]["message"] == f"Could not find node {node['uuid']} in cache"


def test_old_records_forgotten(ironic: LocalIronic, make_node: Any,
                               tmp_path_factory: pytest.TempPathFactory) -> None:
    """With node_status_keep_time set, finished records are forgotten after that long."""
    options = {"DEFAULT": {"timeout": 1, "clean_up_period": 1, "node_status_keep_time": 1}}
    node = make_node()
    with LocalMetalScope(Path(tmp_path_factory.mktemp("keep")), ironic.url,
                         options=options) as service, httpx.Client(base_url=service.url) as api:
        assert api.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        deadline = time.monotonic() + 20
        states = set()
        while (response := api.get(f"/v1/introspection/{node['uuid']}")).status_code == 200:
            states.add(response.json()["state"])
            assert time.monotonic() < deadline, "record was never forgotten"
            time.sleep(0.1)
    assert "error" in states and response.status_code == 404
