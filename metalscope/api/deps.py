"""FastAPI dependency aliases, so route signatures read as plain English."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from metalscope.services import Services


def get_services(request: Request) -> Services:
    return request.app.state.services  # type: ignore[no-any-return]


def get_api_version(request: Request) -> tuple[int, int]:
    return request.scope.get("state", {}).get("api_version", (1, 18))  # type: ignore[no-any-return]


ServicesDep = Annotated[Services, Depends(get_services)]
ApiVersion = Annotated[tuple[int, int], Depends(get_api_version)]
