"""A conductor-role process has no API listener: with ``[metrics]port`` it serves its
metrics there, and stops serving them when it stops."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from metalscope.conductor import run_conductor
from metalscope.process_control import StopRequest
from metalscope.settings import load_settings
from metalscope.storage import migrate

#: Ends a test that would otherwise hang on a bug; not a measure of speed.
HANG_GUARD = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def scrape(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5) as client:
        for _ in range(HANG_GUARD * 20):
            try:
                return await client.get(url)
            except httpx.ConnectError:
                await asyncio.sleep(0.05)
    raise AssertionError(f"nothing answered at {url}")


async def test_conductor_serves_metrics_on_its_port(tmp_path: Path) -> None:
    connection = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(connection)
    port = free_port()
    settings = load_settings(overrides={
        "database": {"connection": connection}, "metrics": {"port": port},
        "ironic": {"auth_type": "none", "endpoint_override": "http://127.0.0.1:9"},
        "pxe_filter": {"driver": "noop"}})
    stop = StopRequest(5)
    conductor = asyncio.create_task(run_conductor(settings, stop))
    response = await asyncio.wait_for(scrape(f"http://127.0.0.1:{port}/metrics"), HANG_GUARD)
    assert response.status_code == 200
    names = {family.name for family in text_string_to_metric_families(response.text)}
    assert {"metalscope_introspections", "metalscope_build_info"} <= names
    stop.request()
    await asyncio.wait_for(conductor, HANG_GUARD)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(timeout=5) as client:
            await client.get(f"http://127.0.0.1:{port}/metrics")
