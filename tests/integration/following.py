"""Helpers of the tests that follow Ironic's own inspections: polling, and a node's history."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx


def wait_until(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """``check()``'s first true value, polled every 0.25 s; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def history_of(api: httpx.Client, uuid: str) -> list[dict[str, Any]]:
    """The node's versions over MetalScope's API (none while it has no history)."""
    answer = api.get(f"/v1/introspection/{uuid}/history")
    return list(answer.json()["history"]) if answer.status_code == 200 else []
