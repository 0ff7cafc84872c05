"""``/v1/introspection...`` and ``/v1/continue`` routes: validate, call an operation, render."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from starlette.responses import Response

from metalscope.api.body import budgeted_json, read_body, require_object
from metalscope.api.deps import ApiVersion, ServicesDep, policy
from metalscope.api.links import request_root
from metalscope.api.responses import JSONResponse, accepted
from metalscope.api.routing import Router
from metalscope.errors import InvalidRequest
from metalscope.operations import callback, introspect, out_of_band, repeats, status
from metalscope.operations import reapply as reapply_op
from metalscope.operations.status import IntrospectionStatus

router = Router(prefix="/v1")

_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")
CANNOT_MANAGE_BOOT = ("Managed boot is requested, but this installation cannot manage boot "
                      "((can_manage_boot set to False)")
#: The version from which a start chooses its ``method`` and statuses show it.
METHOD_VERSION = (1, 20)
METHODS = ("inband", "redfish")
_JSON_OBJECT_BODY: dict[str, Any] = {"requestBody": {"content": {"application/json": {
    "schema": {"type": "object"}}}}}


def status_body(record: IntrospectionStatus, root: str,
                version: tuple[int, int] = (1, 0)) -> dict[str, Any]:
    """A status document; from API 1.20 with the introspection's ``method``."""
    body = {
        "error": record.error,
        "finished": record.finished,
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
        "links": [{"href": f"{root}v1/introspection/{record.uuid}", "rel": "self"}],
        "started_at": record.started_at.isoformat() if record.started_at else None,
        "state": record.state.value,
        "uuid": record.uuid,
    }
    if version >= METHOD_VERSION:
        body["method"] = record.method
    return body


def first_value(request: Request, name: str) -> str | None:
    """The first value of a query parameter given several times, as upstream's Flask reads it
    (Starlette's ``get`` answers the last)."""
    values = request.query_params.getlist(name)
    return values[0] if values else None


def parse_method(value: str | None, version: tuple[int, int], default: str) -> str:
    """The start's ``method``: below 1.20 the parameter is ignored, as upstream ignores any
    unknown query parameter (spec 2.4.4); absent, ``[redfish]default_method``."""
    if value is None or version < METHOD_VERSION:
        return default
    method = value.strip().lower()
    if method not in METHODS:
        raise InvalidRequest(f"Invalid introspection method: {value}, valid methods are "
                             f"{', '.join(METHODS)}")
    return method


def parse_manage_boot(value: str | None, can_manage_boot: bool) -> bool:
    if value is None or value.strip().lower() in _TRUE:
        manage_boot = True
    elif value.strip().lower() in _FALSE:
        manage_boot = False
    else:
        raise InvalidRequest(f"Invalid boolean value for manage_boot: {value}")
    if manage_boot and not can_manage_boot:
        raise InvalidRequest(CANNOT_MANAGE_BOOT)
    return manage_boot


@router.post("/continue", summary="Ramdisk callback: post introspection data",
             openapi_extra=_JSON_OBJECT_BODY,
             dependencies=policy("introspection:continue", public=True))
async def continue_introspection(request: Request, svc: ServicesDep) -> JSONResponse:
    default = svc.settings.default
    with svc.metrics.callback_timer(svc.foreground):
        async with budgeted_json(request, default.max_continue_body_size, default.body_timeout,
                                 svc.body_budget, svc.json_parser) as (raw, value):
            data = require_object(value)
            uuid = await callback.continue_introspection(svc, data,
                                                         repeats.callback_digest(raw))
    return JSONResponse({"uuid": uuid})


@router.post("/introspection/{node_id}", summary="Start introspection", status_code=202,
             dependencies=policy("introspection:start"))
async def start(request: Request, node_id: str, svc: ServicesDep,
                version: ApiVersion) -> JSONResponse:
    method = parse_method(first_value(request, "method"), version,
                          svc.settings.redfish.default_method)
    # Out of band nothing is booted: manage_boot is only checked for its spelling.
    manage_boot = parse_manage_boot(first_value(request, "manage_boot"),
                                    svc.settings.default.can_manage_boot or method != "inband")
    await read_body(request, svc.settings.default.max_request_body_size,  # any body is ignored
                    svc.settings.default.body_timeout)
    if method == "inband":
        await introspect.start_introspection(svc, node_id, manage_boot)
    else:
        await out_of_band.start_out_of_band(svc, node_id)
    return accepted()


@router.get("/introspection/{node_id}", summary="Introspection status of a node",
             dependencies=policy("introspection:status"))
async def get_status(request: Request, node_id: str, svc: ServicesDep,
                     version: ApiVersion) -> JSONResponse:
    record = await status.get_status(svc, node_id)
    return JSONResponse(status_body(record, request_root(request), version))


@router.get("/introspection", summary="List introspection statuses",
             dependencies=policy("introspection:status"))
async def list_statuses(request: Request, svc: ServicesDep,
                        version: ApiVersion) -> JSONResponse:
    records = await status.list_statuses(svc, first_value(request, "marker"),
                                         first_value(request, "limit"),
                                         first_value(request, "state"))
    root = request_root(request)
    return JSONResponse({"introspection": [status_body(r, root, version) for r in records]})


@router.post("/introspection/{node_id}/abort", summary="Abort introspection", status_code=202,
             dependencies=policy("introspection:abort"))
async def abort(node_id: str, svc: ServicesDep) -> JSONResponse:
    await introspect.abort_introspection(svc, node_id)
    return accepted()


@router.get("/introspection/{node_id}/data", summary="Processed introspection data",
             dependencies=policy("introspection:data"))
async def get_data(node_id: str, svc: ServicesDep) -> Response:
    text = await status.get_data(svc, node_id, processed=True)
    return Response(text, media_type="application/json")


@router.get("/introspection/{node_id}/data/unprocessed", summary="Unprocessed introspection data",
             dependencies=policy("introspection:data"))
async def get_unprocessed_data(node_id: str, svc: ServicesDep) -> Response:
    text = await status.get_data(svc, node_id, processed=False)
    return Response(text, media_type="application/json")


@router.post("/introspection/{node_id}/data/unprocessed", status_code=202,
             dependencies=policy("introspection:reapply"),
             summary="Reapply processing on stored or given data", openapi_extra=_JSON_OBJECT_BODY)
async def reapply(request: Request, node_id: str, svc: ServicesDep) -> JSONResponse:
    default = svc.settings.default
    async with budgeted_json(request, default.max_continue_body_size, default.body_timeout,
                             svc.body_budget, svc.json_parser) as (raw, value):
        body = require_object(value) if raw else None
        await reapply_op.reapply(svc, node_id, body or None)
    return accepted()
