"""Opening the services from the settings: everything opened is closed, also half-way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from metalscope import wiring
from metalscope.auth.base import NoAuth
from metalscope.drift.dispatcher import DriftDispatcher
from metalscope.errors import ConfigurationError
from metalscope.extensions import ExtensionRegistry
from metalscope.ironic_client import IronicClient
from metalscope.json_parsing import JsonParser
from metalscope.process_roles import Role
from metalscope.pxe_filter.base import NoopFilter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings, load_settings
from metalscope.storage import migrate
from metalscope.storage.data_store import create_store
from metalscope.storage.repository import Repository

Calls = list[str]


def local_settings(url: str, **sections: dict[str, Any]) -> Settings:
    """SQLite at ``url`` and an Ironic endpoint nothing listens on (never called here)."""
    return load_settings(overrides={
        "database": {"connection": url},
        "ironic": {"auth_type": "none", "endpoint_override": "http://127.0.0.1:9"},
        **sections})


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    return url


def _spy(monkeypatch: pytest.MonkeyPatch, calls: Calls, owner: type, name: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)
    label = f"{owner.__name__}.{name}"

    if name == "close":
        def sync_spy(self: Any, *args: Any) -> Any:
            calls.append(label)
            return original(self, *args)
        monkeypatch.setattr(owner, name, sync_spy)
        return

    async def spy(self: Any, *args: Any) -> Any:
        calls.append(label)
        return await original(self, *args)
    monkeypatch.setattr(owner, name, spy)


@pytest.fixture
def closed(monkeypatch: pytest.MonkeyPatch) -> Calls:
    """The close calls made, in order."""
    calls: Calls = []
    for owner, name in ((AsyncEngine, "dispose"), (IronicClient, "aclose"),
                        (NoAuth, "aclose"), (JsonParser, "close"),
                        (DriftDispatcher, "aclose")):
        _spy(monkeypatch, calls, owner, name)
    return calls


async def test_open_services_closes_everything_it_opened(url: str, closed: Calls) -> None:
    async with wiring.open_services(local_settings(url)) as services:
        assert await services.repo.list_rules() == []
        assert isinstance(services.auth, NoAuth)
        assert isinstance(services.pxe_filter, NoopFilter)
        assert services.drift.names == ["log"]
        assert closed == []
    assert closed == ["JsonParser.close", "DriftDispatcher.aclose", "NoAuth.aclose",
                      "IronicClient.aclose", "AsyncEngine.dispose"]


async def test_what_was_opened_is_closed_when_opening_fails(url: str, closed: Calls) -> None:
    settings = local_settings(url, pxe_filter={"driver": "ebtables"})
    with pytest.raises(ConfigurationError, match="not a PXE filter driver"):
        async with wiring.open_services(settings):
            pytest.fail("opened")
    assert closed == ["DriftDispatcher.aclose", "NoAuth.aclose", "IronicClient.aclose",
                      "AsyncEngine.dispose"]


async def test_an_old_schema_opens_nothing(tmp_path: Path, closed: Calls) -> None:
    settings = local_settings(f"sqlite:///{tmp_path / 'empty.sqlite'}")
    with pytest.raises(ConfigurationError):
        async with wiring.open_services(settings):
            pytest.fail("opened")
    assert closed == []


async def test_parts_close_what_they_opened(url: str, closed: Calls) -> None:
    settings = local_settings(url)
    async with wiring.open_repository(settings) as repo:
        assert await repo.list_rules() == []
    assert closed == ["AsyncEngine.dispose"]
    async with wiring.open_ironic(settings):
        pass
    async with wiring.open_pxe_filter(settings) as pxe_filter:
        assert isinstance(pxe_filter, NoopFilter)
    assert closed == ["AsyncEngine.dispose", "IronicClient.aclose", "IronicClient.aclose",
                      "AsyncEngine.dispose"]


class Recorder:
    """A coordinator or PXE filter that records its start and stop."""

    def __init__(self, name: str, calls: Calls, fail_start: bool = False) -> None:
        self.name, self.calls, self.fail_start = name, calls, fail_start

    async def start(self) -> None:
        self.calls.append(f"{self.name} start")
        if self.fail_start:
            raise ConfigurationError(f"{self.name} cannot start")

    async def stop(self) -> None:
        self.calls.append(f"{self.name} stop")


def recorded_services(settings: Settings, calls: Calls, filter_fails: bool = False) -> Services:
    repo = Repository(None)  # type: ignore[arg-type]
    services = Services(settings=settings, repo=repo, ironic=None,  # type: ignore[arg-type]
                        coordinator=Recorder("coordinator", calls),  # type: ignore[arg-type]
                        extensions=ExtensionRegistry(),
                        pxe_filter=Recorder("filter", calls, filter_fails),  # type: ignore[arg-type]
                        data_store=create_store(settings, repo), pacer=BootPacer(0))

    async def drained(*args: Any) -> None:
        calls.append("background drained")
    services.background.drain = drained  # type: ignore[method-assign]
    return services


async def test_started_stops_after_draining_the_background_work(url: str) -> None:
    calls: Calls = []
    services = recorded_services(local_settings(url), calls)
    async with wiring.started(services):
        assert calls == ["coordinator start", "filter start"]
    assert calls[2:] == ["background drained", "filter stop", "coordinator stop"]


async def test_started_stops_only_what_started(url: str) -> None:
    calls: Calls = []
    services = recorded_services(local_settings(url), calls, filter_fails=True)
    with pytest.raises(ConfigurationError, match="filter cannot start"):
        async with wiring.started(services):
            pytest.fail("started")
    assert calls == ["coordinator start", "filter start", "coordinator stop"]



async def test_an_api_role_process_runs_no_pxe_filter_driver(url: str, tmp_path: Path) -> None:
    settings = local_settings(url, pxe_filter={"driver": "dnsmasq"},
                              dnsmasq_pxe_filter={"dhcp_hostsdir": str(tmp_path)})
    async with wiring.open_services(settings, Role.API) as services:
        assert isinstance(services.pxe_filter, NoopFilter)
    async with wiring.open_services(settings, Role.CONDUCTOR) as services:
        assert not isinstance(services.pxe_filter, NoopFilter)
