"""FastAPI dependency aliases, so route signatures read as plain English."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.exceptions import HTTPException

from metalscope.api.versions import MAX_VERSION
from metalscope.errors import NotAuthenticated
from metalscope.services import Services

# The dependencies are ``async def`` although they do not await: FastAPI runs a plain ``def``
# dependency in its thread pool, which costs a thread hop on every request.

def services_of(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


async def get_services(request: Request) -> Services:
    return services_of(request)


async def get_api_version(request: Request) -> tuple[int, int]:
    return request.scope.get("state", {}).get("api_version", MAX_VERSION)  # type: ignore[no-any-return]


def policy(rule: str, public: bool = False) -> list[Any]:
    """Route dependencies: the caller must pass the policy rule ``rule`` (spec 2.3).

    ``public`` routes (version discovery, the ramdisk callback) need no credentials; with
    ``auth_strategy = keystone`` their rule is still evaluated (by default it allows everyone).
    """
    async def check_access(request: Request) -> None:
        access = services_of(request).auth
        try:
            await access.check(rule, request.headers, public)
        except NotAuthenticated as exc:
            if access.challenge is None:
                raise
            raise HTTPException(401, exc.message,
                                headers={"WWW-Authenticate": access.challenge}) from None

    check_access.__name__ = f"policy_{rule.replace(':', '_')}"
    return [Depends(check_access)]


ServicesDep = Annotated[Services, Depends(get_services)]
ApiVersion = Annotated[tuple[int, int], Depends(get_api_version)]
