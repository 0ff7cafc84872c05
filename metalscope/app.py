"""create_app(settings): the FastAPI application and the services it runs with.

The lifespan opens the services from the settings it was given (:mod:`metalscope.wiring`,
or an opener over ready-made services a test passes in), starts them, holds them on
``app.state.services`` and closes them at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from metalscope import __version__, background, wiring
from metalscope.api import errors as api_errors
from metalscope.api import introspection, openapi, root, rules
from metalscope.api.middleware.cors import CORSMiddleware, CorsPolicy
from metalscope.api.middleware.healthcheck import HealthcheckConfig, HealthcheckMiddleware
from metalscope.api.middleware.proxy_headers import ProxyHeadersMiddleware
from metalscope.api.middleware.request_id import RequestIdMiddleware
from metalscope.api.middleware.unexpected_errors import UnexpectedErrorMiddleware
from metalscope.api.versions import MAX_HEADER, MIN_HEADER, VersionMiddleware
from metalscope.auth import create_access_control
from metalscope.errors import ConfigurationError
from metalscope.extensions import ExtensionRegistry
from metalscope.pxe_filter.base import check_filter_settings
from metalscope.services import Services
from metalscope.settings import Settings
from metalscope.storage.data_store import check_store_settings


def check_settings(settings: Settings) -> None:
    """Refuse configurations this build cannot honour, before anything starts."""
    create_access_control(settings)
    if not settings.default.standalone:
        raise ConfigurationError("[DEFAULT]standalone = False is not needed by MetalScope: every "
                                 "instance serves the API and processes data; set it to True")


def validate_startup(settings: Settings) -> None:
    """Build what can be built without I/O, so a bad configuration fails before serving."""
    check_settings(settings)
    middleware_layers(settings)
    ExtensionRegistry.from_settings(settings)
    check_filter_settings(settings)
    check_store_settings(settings)
    asyncio.run(_open_ironic(settings))


async def _open_ironic(settings: Settings) -> None:
    async with wiring.open_ironic(settings):
        pass


#: Opens the services for the app's lifespan; tests pass one over ready-made services.
ServicesOpener = Callable[[Settings], AbstractAsyncContextManager[Services]]


def create_app(settings: Settings, open_services: ServicesOpener = wiring.open_services,
               ) -> FastAPI:
    """The ASGI application for these settings."""
    check_settings(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_services(settings) as svc, wiring.started(svc):
            app.state.services = svc
            tasks = [asyncio.create_task(background.run_periodically(name, interval, round_))
                     for name, interval, round_ in background.periodic_tasks(svc)]
            # Records an earlier run of this (or a lost) instance left half-way are settled
            # now, not one clean-up period later.
            svc.background.spawn(background.recover_interrupted(svc), "recover-at-start")
            try:
                yield
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(title="MetalScope", version=__version__, lifespan=lifespan,
                  description="Hardware introspection API compatible with ironic-inspector v1",
                  docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    api_errors.install_error_handlers(app)
    app.include_router(introspection.router)
    app.include_router(rules.router)
    app.include_router(root.router)
    openapi.install(app)
    install_middleware(app, settings)
    return app


def middleware_layers(settings: Settings) -> list[tuple[Any, dict[str, Any]]]:
    """The HTTP layers, outermost first: request id → CORS → health check → proxy headers →
    versions → unexpected errors → routes (upstream's order, spec 2.1; authentication is
    the routes' policy dependency here)."""
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
    layers += [(VersionMiddleware, {}),
               (UnexpectedErrorMiddleware, {"debug": settings.logging.debug})]
    return layers


def install_middleware(app: FastAPI, settings: Settings) -> None:
    # add_middleware puts each new layer outside the ones added before it.
    for cls, options in reversed(middleware_layers(settings)):
        app.add_middleware(cls, **options)
