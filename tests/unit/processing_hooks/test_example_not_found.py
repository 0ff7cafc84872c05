"""The example node-not-found hook (spec 4.5)."""

from __future__ import annotations

import logging

import pytest

from metalscope.extensions import NOT_FOUND_HOOKS_GROUP, load_group
from metalscope.processing_hooks.example_not_found import ExampleNotFoundHook
from metalscope.processing_hooks.spec import NodeNotFoundHook
from tests.factories import ramdisk_data, settings
from tests.fakes import FakeIronic


async def test_logs_and_returns_none(caplog: pytest.LogCaptureFixture) -> None:
    """The hook only logs; it returns None and leaves the data alone."""
    data = ramdisk_data()
    with caplog.at_level(logging.INFO, logger="metalscope.processing_hooks.example_not_found"):
        assert await ExampleNotFoundHook(settings())(data, FakeIronic()) is None  # type: ignore[arg-type]
    assert data == ramdisk_data()
    assert len(caplog.records) == 1


def test_registered_and_typed() -> None:
    """``example`` is a not-found entry point and satisfies the protocol."""
    assert load_group(NOT_FOUND_HOOKS_GROUP)["example"].load() is ExampleNotFoundHook
    assert isinstance(ExampleNotFoundHook(settings()), NodeNotFoundHook)
