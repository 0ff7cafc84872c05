"""create_app(settings): the FastAPI application and the services it runs with.

The lifespan opens the services from the settings it was given (:mod:`metalscope.wiring`,
or an opener over ready-made services a test passes in), starts them, holds them on
``app.state.services`` and closes them at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from metalscope import __version__, background, wiring
from metalscope.api import errors as api_errors
from metalscope.api import (
    history,
    introspection,
    metrics,
    metrics_listener,
    openapi,
    root,
    rules,
    ui,
)
from metalscope.api.middleware.cors import CORSMiddleware, CorsPolicy
from metalscope.api.middleware.healthcheck import HealthcheckConfig, HealthcheckMiddleware
from metalscope.api.middleware.proxy_headers import ProxyHeadersMiddleware
from metalscope.api.middleware.request_id import RequestIdMiddleware
from metalscope.api.middleware.stopping import StoppingMiddleware
from metalscope.api.middleware.unexpected_errors import UnexpectedErrorMiddleware
from metalscope.api.versions import MAX_HEADER, MIN_HEADER, VersionMiddleware
from metalscope.auth import create_access_control
from metalscope.drift.notifiers import check_drift_settings
from metalscope.extensions import ExtensionRegistry
from metalscope.process_control import StopRequest
from metalscope.process_roles import Role
from metalscope.pxe_filter.base import check_filter_settings
from metalscope.services import Services
from metalscope.settings import Settings
from metalscope.storage.data_store import check_store_settings
from metalscope.ui.rendering import Pages


def check_settings(settings: Settings) -> None:
    """Refuse configurations this build cannot honour, before anything starts."""
    create_access_control(settings)


def validate_startup(settings: Settings) -> None:
    """Build what can be built without I/O, so a bad configuration fails before serving."""
    check_settings(settings)
    middleware_layers(settings)
    ExtensionRegistry.from_settings(settings)
    check_filter_settings(settings)
    check_store_settings(settings)
    check_drift_settings(settings)
    asyncio.run(_open_ironic(settings))


async def _open_ironic(settings: Settings) -> None:
    async with wiring.open_ironic(settings):
        pass


#: Opens the services for the app's lifespan; tests pass one over ready-made services.
ServicesOpener = Callable[[Settings], AbstractAsyncContextManager[Services]]


def create_app(settings: Settings, open_services: ServicesOpener | None = None, *,
               role: Role = Role.ALL_IN_ONE, stop: StopRequest | None = None) -> FastAPI:
    """The ASGI application for these settings, in an all-in-one or API-role process.

    ``stop`` tells the lifespan how long background work may still run once the process
    was asked to stop; without it, ``[DEFAULT]graceful_shutdown_timeout``.
    """
    check_settings(settings)
    opener = open_services or functools.partial(wiring.open_services, role=role)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            svc = await stack.enter_async_context(opener(settings))
            await stack.enter_async_context(wiring.started(svc))
            stack.push_async_callback(_drain, svc, settings, stop)
            if role.runs_duties:
                await stack.enter_async_context(background.duties(svc))
            await stack.enter_async_context(metrics_listener.serving(svc))
            app.state.services = svc
            yield

    app = FastAPI(title="MetalScope", version=__version__, lifespan=lifespan,
                  description="Hardware introspection API compatible with ironic-inspector v1",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api_errors.install_error_handlers(app)
    app.state.ui_pages = Pages()
    app.include_router(introspection.router)
    app.include_router(history.router)
    app.include_router(rules.router)
    app.include_router(metrics.router)  # before /{version}, which would match /metrics
    app.include_router(ui.router)
    app.include_router(root.router)
    openapi.install(app)
    install_middleware(app, settings, stop)
    return app


async def _drain(svc: Services, settings: Settings, stop: StopRequest | None) -> None:
    """Background work (finish steps, aborts, reapplies) gets what is left of the stop
    bound, then is cancelled; the recovery at the next start takes it up again."""
    if stop is not None:
        await svc.background.drain(stop.remaining(), stop.forced_event)
    else:
        await svc.background.drain(settings.default.graceful_shutdown_timeout or None)


def middleware_layers(settings: Settings, stop: StopRequest | None = None,
                      ) -> list[tuple[Any, dict[str, Any]]]:
    """The HTTP layers, outermost first: request id → CORS → health check → proxy headers →
    versions → (requests cut by a stop, in a served process) → unexpected errors → routes
    (upstream's order, spec 2.1; authentication is the routes' policy dependency here)."""
    layers: list[tuple[Any, dict[str, Any]]] = [(RequestIdMiddleware, {})]
    if settings.cors.allowed_origin:
        layers.append((CORSMiddleware, {"policy": CorsPolicy.from_settings(settings.cors),
                                         "keep": (MIN_HEADER, MAX_HEADER)}))
    if settings.healthcheck.enabled:
        config = HealthcheckConfig.from_settings(settings.healthcheck)
        layers.append((HealthcheckMiddleware, {"config": config}))
    # Unset means upstream's behaviour: the forwarded headers are honoured.
    if settings.oslo_middleware.enable_proxy_headers_parsing is not False:
        layers.append((ProxyHeadersMiddleware, {}))
    layers.append((VersionMiddleware, {}))
    if stop is not None:
        layers.append((StoppingMiddleware, {"stop": stop}))
    layers.append((UnexpectedErrorMiddleware, {"debug": settings.logging.debug}))
    return layers


def install_middleware(app: FastAPI, settings: Settings, stop: StopRequest | None = None,
                       ) -> None:
    # add_middleware puts each new layer outside the ones added before it.
    for cls, options in reversed(middleware_layers(settings, stop)):
        app.add_middleware(cls, **options)
