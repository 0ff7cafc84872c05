"""flush_changes through the real IronicClient, Ironic's answers scripted (httpx.MockTransport)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from metalscope.errors import IronicError
from metalscope.ironic_client import IronicClient, StaticCredentials
from metalscope.node_changes import NodeChanges
from metalscope.operations.node_update import flush_changes

UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
PORT = {"uuid": "p1", "node_uuid": UUID, "address": "52:54:00:00:00:01", "extra": {},
        "pxe_enabled": True}


def client(answer: Any) -> tuple[IronicClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answer(request)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handle))
    return IronicClient(StaticCredentials("http://ironic.test"), http, api_version="1.109",
                        backoff=0), seen


def not_found(message: str) -> httpx.Response:
    return httpx.Response(404, json={"error_message": json.dumps({"faultstring": message})})


@pytest.mark.asyncio
class TestFlush:
    async def test_port_already_deleted_counts_as_deleted(self) -> None:
        """A DELETE repeated after a lost answer meets a 404: the port is gone, as wanted."""
        ironic, seen = client(lambda request: not_found("Port p1 could not be found."))
        changes = NodeChanges({"uuid": UUID}, [PORT])
        changes.delete_port(PORT["address"])
        await flush_changes(ironic, changes)
        assert [(r.method, r.url.path) for r in seen] == [("DELETE", "/v1/ports/p1")]
        assert changes.pending.is_empty()

    async def test_other_delete_failures_are_raised(self) -> None:
        ironic, _ = client(lambda request: httpx.Response(500, text="boom"))
        changes = NodeChanges({"uuid": UUID}, [PORT])
        changes.delete_port(PORT["address"])
        with pytest.raises(IronicError) as caught:
            await flush_changes(ironic, changes)
        assert caught.value.status == 500

    async def test_patch_with_a_lost_answer_is_flushed_once(self) -> None:
        """The node PATCH times out but Ironic applied it: read back, not sent again."""
        patched = {"uuid": UUID, "properties": {"cpus": 8}}

        def answer(request: httpx.Request) -> httpx.Response:
            if request.method == "PATCH":
                raise httpx.ReadTimeout("timed out", request=request)
            return httpx.Response(200, json=patched)

        ironic, seen = client(answer)
        changes = NodeChanges({"uuid": UUID, "properties": {"cpus": 2}}, [])
        changes.update_properties(cpus=8)
        await flush_changes(ironic, changes)
        assert [r.method for r in seen] == ["PATCH", "GET"]
