"""The routers of the API: every ``GET`` route also answers ``HEAD``.

``HEAD`` runs the ``GET`` handler (policy, lookups and all), so it gets the same status and
headers; the server sends no body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class Router(APIRouter):
    def add_api_route(self, path: str, endpoint: Callable[..., Any], *,
                      methods: Any = None, **kwargs: Any) -> None:
        super().add_api_route(path, endpoint, methods=methods, **kwargs)
        if methods is not None and "GET" in {method.upper() for method in methods}:
            # A route of its own, so the OpenAPI document gets an operation id of its own.
            super().add_api_route(path, endpoint, methods=["HEAD"], **kwargs)
