"""uvicorn's options: the event loop and HTTP parser the service runs on."""

from __future__ import annotations

import importlib.util

import pytest

from metalscope import server


def test_uvloop_and_httptools_when_installed() -> None:
    """Both are dependencies, so a normal installation serves with them."""
    assert server.speedups() == {"loop": "uvloop", "http": "httptools"}


def test_falls_back_to_asyncio_and_h11(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without them (another Python, a trimmed install) uvicorn's pure-Python parts run."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name: None if name in ("uvloop", "httptools") else real(name))
    assert server.speedups() == {"loop": "asyncio", "http": "h11"}
