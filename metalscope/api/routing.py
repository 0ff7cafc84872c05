"""The routers of the API: every ``GET`` route also answers ``HEAD``.

``HEAD`` runs the ``GET`` handler (policy, lookups and all), so it gets the same status and
headers; the server sends no body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


class Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], *,
                      methods: Any = None, **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, methods=methods, **kwargs)
        if methods is not None and "GET" in {method.upper() for method in methods}:
            # A route of its own, so the OpenAPI document gets an operation id of its own.
            super().add_api_route(path, endpoint, methods=["HEAD"], **kwargs)


def route_since(minimum: tuple[int, int]) -> type[APIRoute]:
    """A route class that exists only from API version ``minimum``.

    Below it the route does not match at all, so the path answers exactly what an unknown
    path answers (404 for every method, no ``OPTIONS``), before any policy check.
    """
    class VersionedRoute(APIRoute):
        def matches(self, scope: Scope) -> tuple[Match, Scope]:
            if scope.get("state", {}).get("api_version", minimum) < minimum:
                return Match.NONE, {}
            return super().matches(scope)

    VersionedRoute.__name__ = f"RouteSince{minimum[0]}_{minimum[1]}"
    return VersionedRoute
