"""An in-process app over a real SQLite file and the in-memory FakeIronic."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.app import ServicesOpener, create_app
from metalscope.coordination import LocalCoordinator
from metalscope.extensions import ExtensionRegistry
from metalscope.pxe_filter.base import NoopFilter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from metalscope.storage.data_store import create_store
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.fakes import FakeIronic


@pytest.fixture
def fake_ironic() -> FakeIronic:
    return FakeIronic()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return load_settings(overrides={"database": {"connection": url},
                                    "DEFAULT": {"introspection_delay": 0}})


def ready_made(build: Callable[[Settings], Services]) -> ServicesOpener:
    """An opener over the services ``build`` makes; their engine and JSON worker are closed
    on exit."""
    @asynccontextmanager
    async def opener(s: Settings) -> AsyncIterator[Services]:
        svc = build(s)
        try:
            yield svc
        finally:
            svc.json_parser.close()
            await svc.repo.engine.dispose()
    return opener


def make_client(settings: Settings, ironic: FakeIronic,
                registry: ExtensionRegistry | None = None) -> TestClient:
    def build(s: Settings) -> Services:
        repo = Repository(create_engine(s.database.connection))
        return Services(settings=s, repo=repo, ironic=ironic,  # type: ignore[arg-type]
                        coordinator=LocalCoordinator(),
                        extensions=registry or ExtensionRegistry.from_settings(s),
                        pxe_filter=NoopFilter(), data_store=create_store(s, repo),
                        pacer=BootPacer(0))
    return TestClient(create_app(settings, ready_made(build)), raise_server_exceptions=False)


@pytest.fixture
def client(settings: Settings, fake_ironic: FakeIronic) -> Iterator[TestClient]:
    with make_client(settings, fake_ironic, ExtensionRegistry()) as test_client:
        yield test_client


def error_of(response: Any) -> str:
    return response.json()["error"]["message"]  # type: ignore[no-any-return]
