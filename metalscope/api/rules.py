"""``/v1/rules`` routes (spec 2.4.10)."""

from __future__ import annotations

from fastapi import Request
from starlette.responses import Response

from metalscope.api.body import read_json_object
from metalscope.api.deps import ApiVersion, ServicesDep, policy
from metalscope.api.links import mount_prefix
from metalscope.api.responses import JSONResponse, no_content
from metalscope.api.routing import Router
from metalscope.errors import InvalidRequest
from metalscope.operations import rules

#: Rules may read the hardware diff (``diff://`` fields) from this API version on.
DIFF_FIELDS_VERSION = (1, 19)

router = Router(prefix="/v1/rules")
_JSON_OBJECT_BODY = {
    "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}}}


@router.get("", summary="List rules", dependencies=policy("introspection:rule:get"))
async def list_rules(request: Request, svc: ServicesDep) -> JSONResponse:
    prefix = mount_prefix(request)
    return JSONResponse({"rules": [r.as_dict(short=True, link_prefix=prefix)
                                   for r in await rules.list_rules(svc)]})


@router.post("", summary="Create a rule", status_code=201, openapi_extra=_JSON_OBJECT_BODY,
             dependencies=policy("introspection:rule:create"))
async def create_rule(request: Request, svc: ServicesDep, version: ApiVersion) -> JSONResponse:
    body = await read_json_object(request, svc.settings.default.max_request_body_size,
                                  svc.settings.default.body_timeout, svc.json_parser)
    return await _create(request, svc, version, body)


@router.post("/{uuid}", summary="Create a rule with this UUID (openstacksdk's form)",
             status_code=201, openapi_extra=_JSON_OBJECT_BODY,
             dependencies=policy("introspection:rule:create"))
async def create_rule_with_uuid(request: Request, uuid: str, svc: ServicesDep,
                                version: ApiVersion) -> JSONResponse:
    body = await read_json_object(request, svc.settings.default.max_request_body_size,
                                  svc.settings.default.body_timeout, svc.json_parser)
    if body.get("uuid") not in (None, uuid):
        raise InvalidRequest("The rule UUID in the body differs from the one in the URL")
    return await _create(request, svc, version, {**body, "uuid": uuid})


async def _create(request: Request, svc: ServicesDep, version: tuple[int, int],
                  body: dict[str, object]) -> JSONResponse:
    rule = await rules.create_rule(svc, body, allow_diff=version >= DIFF_FIELDS_VERSION)
    status = 200 if version < (1, 6) else 201
    return JSONResponse(rule.as_dict(link_prefix=mount_prefix(request)), status_code=status)


@router.delete("", summary="Delete every rule", status_code=204,
               dependencies=policy("introspection:rule:delete"))
async def delete_all(svc: ServicesDep) -> Response:
    await rules.delete_all_rules(svc)
    return no_content()


@router.get("/{uuid}", summary="Show a rule", dependencies=policy("introspection:rule:get"))
async def get_rule(request: Request, uuid: str, svc: ServicesDep) -> JSONResponse:
    rule = await rules.get_rule(svc, uuid)
    return JSONResponse(rule.as_dict(link_prefix=mount_prefix(request)))


@router.delete("/{uuid}", summary="Delete a rule", status_code=204,
               dependencies=policy("introspection:rule:delete"))
async def delete_rule(uuid: str, svc: ServicesDep) -> Response:
    await rules.delete_rule(svc, uuid)
    return no_content()
