"""Upstream options MetalScope accepts but does not act on, and why.

An existing ``inspector.conf`` must load unchanged, so these options are read and ignored.
When a file sets one of them to something other than upstream's default, ``serve`` says so
once at start-up, so an operator is not left believing it took effect. (oslo.log's own
ignored options are reported by :mod:`metalscope.logging_setup`. ``standalone`` is checked by
:func:`metalscope.process_roles.check_deployment_mode` for upstream's command names only. A
``store_data`` naming no installed data store is refused, see
:func:`metalscope.app.validate_startup`; ``swift`` is one, with every ``[swift]`` option in
effect: :mod:`metalscope.storage.swift_store`.)
"""

from __future__ import annotations

from collections.abc import Callable

#: (section, option) → why MetalScope does not use it.
UNUSED: dict[tuple[str, str], str] = {
    ("DEFAULT", "max_concurrency"):
        "there is no worker pool to size: requests and processing share one asyncio loop",
    ("DEFAULT", "enable_mdns"): "MetalScope does not advertise itself over mDNS",
    ("DEFAULT", "rootwrap_config"):
        "PXE filter commands run directly (the process needs CAP_NET_ADMIN for iptables)",
    ("exception", "fatal_exception_format_errors"): "MetalScope formats no exception templates",
    ("oslo_middleware", "max_request_body_size"):
        "request bodies are limited by [DEFAULT]max_continue_body_size and "
        "max_request_body_size",
    ("ssl", "version"): "TLS versions are negotiated",
}


def ignored_settings(is_set: Callable[[str, str], bool]) -> list[str]:
    """One line per ignored option that ``is_set`` (set to a non-default value) says is set."""
    return [f"[{section}]{option} is ignored: {why}"
            for (section, option), why in UNUSED.items() if is_set(section, option)]
