"""Version discovery: ``GET /`` and ``GET /<version>`` (spec 2.4.1, 2.4.2)."""

from __future__ import annotations

from fastapi import Request

from metalscope.api.deps import policy
from metalscope.api.links import request_root
from metalscope.api.responses import JSONResponse
from metalscope.api.routing import Router
from metalscope.api.versions import MAX_VERSION, version_text
from metalscope.errors import NotFound

router = Router()
RESOURCES = ("continue", "introspection", "rules")


@router.get("/", summary="List the API's major versions",
            dependencies=policy("introspection", public=True))
async def root(request: Request) -> JSONResponse:
    link = {"href": f"{request_root(request)}v1", "rel": "self"}
    return JSONResponse({"versions": [{"id": version_text(MAX_VERSION), "links": [link],
                                       "status": "CURRENT"}]})


@router.get("/{version}", summary="List the resources of a major version",
            dependencies=policy("introspection:version", public=True))
async def version_root(request: Request, version: str) -> JSONResponse:
    if version != "v1":
        raise NotFound(f"Version {version} not found.")
    base = f"{request_root(request)}v1"
    return JSONResponse({"resources": [
        {"links": [{"href": f"{base}/{name}", "rel": "self"}],
         "name": name} for name in RESOURCES]})
