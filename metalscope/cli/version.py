"""MetalScope's version, from the installed distribution's metadata."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The version of the installed ``metalscope`` distribution (``unknown`` when MetalScope
    runs from a source tree that was never installed)."""
    try:
        return version("metalscope")
    except PackageNotFoundError:
        return "unknown"
