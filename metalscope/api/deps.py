"""FastAPI dependency aliases, so route signatures read as plain English."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from metalscope.auth import Identity
from metalscope.errors import NotAuthenticated
from metalscope.services import Services


# The dependencies are ``async def`` although they do not await: FastAPI runs a plain ``def``
# dependency in its thread pool, which costs a thread hop on every request.

def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_api_version(request: Request) -> tuple[int, int]:
    return request.scope.get("state", {}).get("api_version", (1, 18))  # type: ignore[no-any-return]


async def authenticated(request: Request) -> Identity:
    """The caller's identity; 401 for routes that need one when there is none (spec 2.3)."""
    identity = await services_of(request).auth.authenticate(request.headers.get("authorization"))
    if identity is None:
        raise NotAuthenticated()
    return identity


ServicesDep = Annotated[Services, Depends(get_services)]
#: Route dependencies of every non-public route.
PROTECTED = [Depends(authenticated)]
ApiVersion = Annotated[tuple[int, int], Depends(get_api_version)]
