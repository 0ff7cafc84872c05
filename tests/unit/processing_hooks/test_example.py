"""The example hook (spec 5.4)."""

import logging

import pytest

from metalscope.processing_hooks.example import ExampleHook
from tests.factories import node_changes, ramdisk_data, settings


class TestExampleHook:
    def test_logs_without_effect(self, caplog: pytest.LogCaptureFixture) -> None:
        """Both phases only log; neither the data nor the node changes."""
        hook, data, node = ExampleHook(settings()), ramdisk_data(), node_changes()
        with caplog.at_level(logging.DEBUG, logger="metalscope.processing_hooks.example"):
            hook.before_processing(data)
            hook.before_update(data, node)
        assert data == ramdisk_data()
        assert node.pending.is_empty()
        assert len(caplog.records) == 2
