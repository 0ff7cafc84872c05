"""The ``ramdisk_error`` hook: fail early when the ramdisk reported an error (spec 5.4)."""

from __future__ import annotations

from typing import Any

from metalscope.errors import HookError
from metalscope.processing_hooks.spec import BaseHook


class RamdiskErrorHook(BaseHook):
    """Turns a truthy top-level ``error`` key of the ramdisk data into a hook failure."""

    def before_processing(self, data: dict[str, Any]) -> None:
        """Raise ``Ramdisk reported error: <error>`` when the ramdisk sent an error."""
        error = data.get("error")
        if error:
            raise HookError(f"Ramdisk reported error: {error}")
