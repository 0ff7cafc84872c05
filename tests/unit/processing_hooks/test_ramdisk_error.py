"""The ramdisk_error hook (spec 5.4)."""

import pytest

from metalscope.errors import HookError
from metalscope.processing_hooks.ramdisk_error import RamdiskErrorHook
from tests.factories import ramdisk_data, settings


class TestBeforeProcessing:
    def test_error_reported(self) -> None:
        """A truthy error key fails with the upstream message."""
        hook = RamdiskErrorHook(settings())
        with pytest.raises(HookError) as exc:
            hook.before_processing(ramdisk_data(error="Failed to collect disks"))
        assert str(exc.value) == "Ramdisk reported error: Failed to collect disks"

    @pytest.mark.parametrize("error", [None, "", False])
    def test_falsy_error_ignored(self, error: object) -> None:
        """A null or empty error key is not a failure."""
        RamdiskErrorHook(settings()).before_processing(ramdisk_data(error=error))

    def test_missing_error_ignored(self) -> None:
        """Data without an error key passes untouched."""
        data = ramdisk_data()
        del data["error"]
        RamdiskErrorHook(settings()).before_processing(data)
        assert "error" not in data
