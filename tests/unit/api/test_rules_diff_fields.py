"""``POST /v1/rules`` takes ``diff://`` fields from API 1.19 on; below, upstream's 400."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.settings import Settings
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, make_client

RULE: dict[str, Any] = {
    "conditions": [{"op": "lt", "field": "diff://memory.total_mb.delta", "value": 0}],
    "actions": [{"action": "add-trait", "name": "CUSTOM_MEMORY_DRIFT"}]}


@pytest.fixture
def client(settings: Settings, fake_ironic: FakeIronic) -> Iterator[TestClient]:
    """The app with the built-in conditions and actions."""
    with make_client(settings, fake_ironic,
                     ExtensionRegistry.from_settings(settings)) as test_client:
        yield test_client


def version(text: str) -> dict[str, str]:
    return {"X-OpenStack-Ironic-Inspector-API-Version": text}


@pytest.mark.parametrize("path", ["/v1/rules", "/v1/rules/4b0c5d1e-8b11-4c53-9a3d-0e3b1c2d4e5f"])
def test_accepted_at_1_19(client: TestClient, path: str) -> None:
    response = client.post(path, json=RULE, headers=version("1.19"))
    assert response.status_code == 201, response.text
    assert response.json()["conditions"][0]["field"] == "diff://memory.total_mb.delta"


def test_refused_below_1_19(client: TestClient) -> None:
    response = client.post("/v1/rules", json=RULE, headers=version("1.18"))
    assert response.status_code == 400
    assert error_of(response) == ("Unsupported scheme for field: diff, valid values are "
                                  "node:// or data://")
