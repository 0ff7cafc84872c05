"""Callback bodies through the app: refusals before a body has arrived close the connection,
and bodies parsed off the loop are answered as those parsed on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from metalscope.app import create_app
from metalscope.body_budget import BodyBudget
from metalscope.coordination import LocalCoordinator
from metalscope.extensions import ExtensionRegistry
from metalscope.pxe_filter.base import NoopFilter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings
from metalscope.storage.data_store import create_store
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.fakes import FakeIronic
from tests.unit.api.conftest import error_of, ready_made


@pytest.fixture
def small_budget_client(settings: Settings, fake_ironic: FakeIronic) -> Iterator[TestClient]:
    """The app with a 2 MiB budget, 1.5 MiB of it already taken by another body."""
    budget = BodyBudget(2 * 2**20, wait=0.1)
    budget.take_now(3 * 2**19)

    def build(s: Settings) -> Services:
        repo = Repository(create_engine(s.database.connection))
        return Services(settings=s, repo=repo, ironic=fake_ironic,  # type: ignore[arg-type]
                        coordinator=LocalCoordinator(), extensions=ExtensionRegistry(),
                        pxe_filter=NoopFilter(), data_store=create_store(s, repo),
                        pacer=BootPacer(0), body_budget=budget)
    app = create_app(settings, ready_made(build))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_declared_size_over_the_limit_closes_the_connection(client: TestClient) -> None:
    response = client.post("/v1/continue", content=b"{}",
                           headers={"Content-Length": str(9 * 2**20)})
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert "too large" in error_of(response)


def test_a_body_found_too_large_while_read_closes_the_connection(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(9):
            yield b" " * 2**20
    response = client.post("/v1/continue", content=chunks())
    assert response.status_code == 413 and response.headers["connection"] == "close"


def test_a_full_budget_refuses_before_reading_the_rest_and_closes(
        small_budget_client: TestClient) -> None:
    response = small_budget_client.post("/v1/continue", content=b"{" + b" " * 900_000 + b"}")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.headers["connection"] == "close"


def test_a_body_too_costly_to_parse_is_refused_as_it_arrives(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"f":['
        for _ in range(8):
            yield b"{}," * 300_000
        yield b"{}]}"
    response = client.post("/v1/continue", content=chunks())
    assert response.status_code == 413 and response.headers["connection"] == "close"
    assert error_of(response) == ("Request body is too complex: parsing it would take more "
                                  "than [DEFAULT]max_parsing_bytes (64 MiB)")


def test_a_body_refused_once_whole_keeps_the_connection(client: TestClient) -> None:
    response = client.post("/v1/continue", content=b"[1, 2]")
    assert response.status_code == 400 and "connection" not in response.headers


@pytest.mark.parametrize("path", ["/v1/continue", "/v1/introspection/node-1/data/unprocessed"])
def test_a_large_body_parsed_off_the_loop_gets_the_same_answers(client: TestClient,
                                                                path: str) -> None:
    not_an_object = b"[" + b"[1, 2]," * 20_000 + b"[]]"
    response = client.post(path, content=not_an_object)
    assert response.status_code == 400
    assert error_of(response) == "Invalid data: expected a JSON object, got list"
    not_json = b'{"a": [' + b"1.5," * 20_000 + b"NaN]}"
    response = client.post(path, content=not_json)
    assert error_of(response) == "Invalid data: expected a JSON object, got None"


def test_a_large_rule_body_is_parsed_off_the_loop_too(client: TestClient) -> None:
    response = client.post("/v1/rules", content=b"[" + b"1," * 100_000 + b"1]")
    assert response.status_code == 400
    assert error_of(response) == "Invalid data: expected a JSON object, got list"
