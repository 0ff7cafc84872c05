"""Fixtures of the outage tests: Ironic faked by OutageIronic and the app in-process over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from tests.unit.api.conftest import make_client
from tests.unit.operations.outage_app import outage_settings
from tests.unit.operations.outage_ironic import OutageIronic


@pytest.fixture
def ironic() -> OutageIronic:
    return OutageIronic()


@pytest.fixture
def client(tmp_path: Path, ironic: OutageIronic) -> Iterator[TestClient]:
    settings = outage_settings(tmp_path)
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as test_client:
        yield test_client
