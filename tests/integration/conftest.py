"""Integration fixtures: an IronicClient on the session's real Ironic.

The ``ironic``, ``mac_factory`` and ``make_node`` fixtures are in ``tests/conftest.py`` so the
compat tier shares them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.settings import Settings, load_settings
from metalscope.testing.ironic import LocalIronic


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
