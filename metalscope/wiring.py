"""Opening the services from the settings: the one place that builds them.

* :func:`open_services` opens everything an instance runs with (the server's lifespan);
  :func:`started` then starts the coordinator and the PXE filter for as long as it serves.
* :func:`open_repository`, :func:`open_ironic`, :func:`open_data_store` and
  :func:`open_pxe_filter` open only a part, for the commands that need no more.

Each is an async context manager that closes, on the way out, everything it opened (and,
when opening fails half-way, what was opened until then).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from metalscope.auth import create_access_control
from metalscope.body_budget import BodyBudget
from metalscope.coordination.factory import create_coordinator
from metalscope.coordination.factory import describe as describe_coordinator
from metalscope.drift.notifiers import create_dispatcher
from metalscope.errors import ConfigurationError
from metalscope.extensions import ExtensionRegistry
from metalscope.ironic_client import IronicClient
from metalscope.metrics import Metrics
from metalscope.out_of_band_runs import OutOfBandRuns
from metalscope.process_roles import Role
from metalscope.pxe_filter.base import NoopFilter, PXEFilter, create_filter
from metalscope.services import BootPacer, Services
from metalscope.settings import Settings
from metalscope.storage import migrate
from metalscope.storage.data_store import DataStore, create_store
from metalscope.storage.engine import create_engine, pool_options
from metalscope.storage.history import Retention
from metalscope.storage.repository import Repository

LOG = logging.getLogger(__name__)


@asynccontextmanager
async def open_repository(settings: Settings,
                          metrics: Metrics | None = None) -> AsyncIterator[Repository]:
    """The repository on ``[database]connection``; ConfigurationError (before anything is
    opened) when the schema is missing or not current. The engine is disposed on exit.
    Transaction retries are counted in ``metrics``, when given."""
    problem = await asyncio.to_thread(migrate.schema_problem, settings.database.connection)
    if problem:
        raise ConfigurationError(problem)
    engine = create_engine(settings.database.connection, pool_options(settings.database))
    try:
        yield Repository(engine, history_retention(settings),
                         metrics.transaction_retried if metrics else None)
    finally:
        await engine.dispose()


def history_retention(settings: Settings) -> Retention:
    return Retention.of(settings.history.max_versions, settings.history.max_age)


@asynccontextmanager
async def open_ironic(settings: Settings,
                      metrics: Metrics | None = None) -> AsyncIterator[IronicClient]:
    """The Ironic client of the ``[ironic]`` section (its requests counted in ``metrics``,
    when given); its connections are closed on exit."""
    client = IronicClient.from_settings(settings, metrics=metrics)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def open_data_store(settings: Settings, repo: Repository,
                          name: str) -> AsyncIterator[DataStore]:
    """The introspection data store ``name`` (``database``, ``swift``...) on ``repo``,
    whatever ``[processing]store_data`` says; closed on exit."""
    store = create_store(settings, repo, name)
    try:
        yield store
    finally:
        await store.aclose()


@asynccontextmanager
async def open_pxe_filter(settings: Settings) -> AsyncIterator[PXEFilter]:
    """The configured PXE filter driver (not started) on its own repository and Ironic
    client, which are closed on exit."""
    async with open_repository(settings) as repo, open_ironic(settings) as ironic:
        yield create_filter(settings, repo, ironic)


@asynccontextmanager
async def open_services(settings: Settings,
                        role: Role = Role.ALL_IN_ONE) -> AsyncIterator[Services]:
    """Every long-lived service of an instance, built from the settings.

    Nothing is started: see :func:`started`. On exit the JSON parsing worker, the drift
    dispatcher (its queued events get ``[drift]shutdown_timeout``), the data store, the
    access control, the Ironic client and the database engine are closed. An
    API-role process gets the ``noop`` PXE filter (the conductor's driver applies the
    database's state at its next sync) and a coordinator that never leads.
    """
    metrics = Metrics()
    async with AsyncExitStack() as stack:
        repo = await stack.enter_async_context(open_repository(settings, metrics))
        ironic = await stack.enter_async_context(open_ironic(settings, metrics))
        auth = create_access_control(settings)
        stack.push_async_callback(auth.aclose)
        data_store = create_store(settings, repo)
        stack.push_async_callback(data_store.aclose)
        drift = create_dispatcher(settings, metrics)
        stack.push_async_callback(drift.aclose)
        services = Services(
            settings=settings, repo=repo, ironic=ironic,
            coordinator=create_coordinator(settings, leadership=role.runs_duties),
            extensions=ExtensionRegistry.from_settings(settings),
            pxe_filter=(create_filter(settings, repo, ironic) if role.runs_duties
                        else NoopFilter()),
            data_store=data_store,
            pacer=BootPacer(settings.default.introspection_delay), auth=auth,
            body_budget=BodyBudget(settings.default.max_parsing_bytes,
                                   settings.default.parsing_wait),
            drift=drift, metrics=metrics,
            out_of_band=OutOfBandRuns(settings.redfish.max_concurrent))
        stack.callback(services.json_parser.close)
        yield services


@asynccontextmanager
async def started(services: Services) -> AsyncIterator[Services]:
    """The coordinator and the PXE filter started; on exit the background work is awaited,
    then what was started is stopped (the filter first)."""
    async with AsyncExitStack() as stack:
        await services.coordinator.start()
        stack.push_async_callback(services.coordinator.stop)
        LOG.info("Coordination: %s", describe_coordinator(services.coordinator))
        await services.pxe_filter.start()
        stack.push_async_callback(services.pxe_filter.stop)
        stack.push_async_callback(services.background.drain)
        yield services
