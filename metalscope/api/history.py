"""Hardware history and diff routes, from API version 1.19.

Below 1.19 these paths do not exist (:func:`metalscope.api.routing.route_since`): they
answer what any unknown path answers.
"""

from __future__ import annotations

import datetime
from typing import Any

from fastapi import Request
from starlette.responses import Response

from metalscope.api.deps import ServicesDep, policy
from metalscope.api.introspection import first_value
from metalscope.api.links import request_root
from metalscope.api.responses import JSONResponse
from metalscope.api.routing import Router, route_since
from metalscope.operations import history_queries as history
from metalscope.storage.history import HistoryVersion

HISTORY_VERSION = (1, 19)
router = Router(prefix="/v1", route_class=route_since(HISTORY_VERSION))
RULE = "introspection:history"


def _timestamp(value: datetime.datetime | None) -> str | None:
    """UTC without an offset, as the status timestamps (spec 2.4.5)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value.isoformat()


def version_body(version: HistoryVersion, root: str) -> dict[str, Any]:
    """What the API shows of a version, without its data."""
    href = f"{root}v1/introspection/{version.uuid}/history/{version.version}"
    return {
        "uuid": version.uuid,
        "version": version.version,
        "started_at": _timestamp(version.started_at),
        "finished_at": _timestamp(version.finished_at),
        "recorded_at": _timestamp(version.recorded_at),
        "source": version.source,
        "error": version.error,
        "changed": version.changed,
        "summary": version.summary,
        "raw_bytes": version.raw_bytes,
        "stored_bytes": version.stored_bytes,
        "links": [{"href": href, "rel": "self"},
                  {"href": f"{href}/unprocessed", "rel": "unprocessed"}],
    }


@router.get("/introspection/{node_id}/history", summary="(1.19) Hardware history of a node",
            dependencies=policy(RULE))
async def list_history(request: Request, node_id: str, svc: ServicesDep) -> JSONResponse:
    _uuid, versions = await history.list_versions(svc, node_id, first_value(request, "limit"),
                                                  first_value(request, "marker"))
    root = request_root(request)
    return JSONResponse({"history": [version_body(v, root) for v in versions]})


@router.get("/introspection/{node_id}/history/{version}",
            summary="(1.19) One version of a node's hardware, with its processed data",
            dependencies=policy(RULE))
async def get_version(request: Request, node_id: str, version: str,
                      svc: ServicesDep) -> JSONResponse:
    stored = await history.get_version(svc, node_id, version)
    return JSONResponse({**version_body(stored, request_root(request)), "data": stored.processed})


@router.get("/introspection/{node_id}/history/{version}/unprocessed",
            summary="(1.19) The unprocessed data of one version", dependencies=policy(RULE))
async def get_unprocessed(node_id: str, version: str, svc: ServicesDep) -> Response:
    return JSONResponse(await history.get_unprocessed(svc, node_id, version))


@router.get("/introspection/{node_id}/diff",
            summary="(1.19) Hardware diff between two versions of a node",
            dependencies=policy(RULE))
async def get_diff(request: Request, node_id: str, svc: ServicesDep) -> JSONResponse:
    result = await history.diff_versions(svc, node_id, first_value(request, "from"),
                                         first_value(request, "to"))
    root = request_root(request)
    return JSONResponse({**result.diff.document(), "from": version_body(result.old, root),
                         "to": version_body(result.new, root)})
