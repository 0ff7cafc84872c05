"""Integration fixtures: an IronicClient and a node factory on the session's real Ironic.

The ``ironic`` fixture itself is in ``tests/conftest.py`` so the compat tier shares it.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.settings import Settings, load_settings
from metalscope.testing.ironic import LocalIronic

NodeFactory = Callable[..., dict[str, Any]]


@pytest.fixture
def ironic_settings(ironic: LocalIronic) -> Settings:
    """Embedded-default settings with ``[ironic]`` pointing at the session's Ironic, no auth."""
    return load_settings(overrides={"ironic": {"auth_type": "none",
                                               "endpoint_override": ironic.url}})


@pytest.fixture
async def ironic_client(ironic_settings: Settings) -> AsyncIterator[IronicClient]:
    """An IronicClient built the way the service builds it, from settings."""
    client = IronicClient.from_settings(ironic_settings)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def mac_factory() -> Callable[[], str]:
    """Unique locally administered MAC addresses (unique across xdist-less reruns too)."""
    counter = itertools.count(1)
    prefix = os.getpid() & 0xFFFF

    def make() -> str:
        value = (0x02 << 40) | (prefix << 24) | next(counter)
        return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))
    return make


@pytest.fixture
def make_node(ironic: LocalIronic, mac_factory: Callable[[], str]) -> Iterator[NodeFactory]:
    """Enroll ``fake-hardware`` nodes (with fresh MACs unless given); deleted after the test."""
    created: list[str] = []

    def make(name: str | None = None, driver_info: dict[str, Any] | None = None,
             macs: list[str] | None = None, port_count: int = 1, **kwargs: Any) -> dict[str, Any]:
        if macs is None:
            macs = [mac_factory() for _ in range(port_count)]
        node = ironic.enroll_node(name, driver_info or {}, macs, **kwargs)
        created.append(node["uuid"])
        return node

    yield make
    for uuid in created:
        ironic.delete_node(uuid)
