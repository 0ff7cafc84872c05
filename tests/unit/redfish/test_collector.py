"""collect(): the reading in a worker thread, bounded by the collection timeout."""

import asyncio
import threading
from typing import Any

import pytest

from metalscope.redfish import collector
from metalscope.redfish.credentials import BmcAccess
from metalscope.redfish.errors import RedfishError
from metalscope.redfish.reader import Documents

ACCESS = BmcAccess("https://[2001:db8::5]:8443", "/redfish/v1/Systems/1", "admin", "pw", True)


def test_maps_what_the_thread_read(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def read(access: BmcAccess, *, node: str, timeout: float) -> Documents:
        seen.update(access=access, node=node, timeout=timeout,
                    thread=threading.current_thread() is not threading.main_thread())
        return Documents(system_path="/redfish/v1/Systems/1", system={"Id": "1"})

    monkeypatch.setattr(collector, "read_documents", read)
    data = asyncio.run(collector.collect(ACCESS, node_uuid="n1", timeout=7, collect_timeout=60))
    assert seen == {"access": ACCESS, "node": "n1", "timeout": 7, "thread": True}
    assert data["inventory"] == {"bmc_v6address": "2001:db8::5"}
    assert data["inspection_method"] == "redfish"


def test_collection_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()

    def read(access: BmcAccess, *, node: str, timeout: float) -> Documents:
        release.wait(30)
        return Documents(system_path="/redfish/v1/Systems/1", system={})

    async def abandoned() -> None:
        try:
            await collector.collect(ACCESS, node_uuid="n1", timeout=5, collect_timeout=0.05)
        finally:
            release.set()  # the abandoned thread ends (at its next request timeout, for real)

    monkeypatch.setattr(collector, "read_documents", read)
    with pytest.raises(RedfishError) as caught:
        asyncio.run(abandoned())
    assert caught.value.kind == "unreachable"
    assert str(caught.value) == ("Out-of-band inspection of node n1 failed: "
                                 "/redfish/v1/Systems/1: no complete answer within 0.05 s")
