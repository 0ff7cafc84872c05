"""The read-only fleet pages: ``/ui/`` (the fleet table) and ``/ui/nodes/{node_id}`` (UUID or
name).

Server-rendered HTML (:mod:`metalscope.ui`), outside the versioned API: no microversion
headers, and every answer, errors included, is a page with the security headers of
:data:`metalscope.ui.rendering.SECURITY_HEADERS`. Access is the policy rule of
``GET /v1/introspection`` under the configured ``auth_strategy``; with ``keystone`` the
token comes from the ``X-Auth-Token`` header (a reverse proxy) or from the cookie the login
form sets after checking the token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import parse_qs

from fastapi import Request
from starlette.responses import RedirectResponse, Response

from metalscope.api.deps import ServicesDep, services_of
from metalscope.api.errors import status_for
from metalscope.api.links import mount_prefix, request_host
from metalscope.api.routing import Router
from metalscope.errors import (
    AccessDenied,
    InvalidRequest,
    MetalScopeError,
    NotAuthenticated,
    NotFound,
)
from metalscope.fleet.query import MAX_LIMIT, MAX_SEARCH, FleetQuery, FleetRow
from metalscope.operations import history_queries
from metalscope.services import Services
from metalscope.ui import diff_view, node_view
from metalscope.ui.fleet_view import fleet_view, query_params
from metalscope.ui.origin import same_origin
from metalscope.ui.rendering import SECURITY_HEADERS, STATIC_TYPES, Pages

LOG = logging.getLogger(__name__)

router = Router(prefix="/ui")
RULE = "introspection:status"
COOKIE = "metalscope_ui_token"
BASIC_CHALLENGE = 'Basic realm="MetalScope", charset="UTF-8"'
#: A login form's body: a token and little else.
MAX_FORM_BYTES = 16 * 1024
#: Beyond any fleet, and within every database's 64-bit OFFSET.
MAX_OFFSET = 10**12
#: How many versions the history table lists.
HISTORY_ROWS = 50
REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
           413: "Content Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}

Build = Callable[[Request, Services], Awaitable[Response]]


class NotKeystone(NotFound):
    """The login form exists only with ``auth_strategy = keystone`` (404)."""

    def __init__(self) -> None:
        super().__init__("There is no login page: the service does not use Keystone tokens.")


class CrossSite(AccessDenied):
    """A login or logout form posted from another site (403)."""

    def __init__(self) -> None:
        # AccessDenied's own constructor fixes the policy's message.
        MetalScopeError.__init__(self, "The form was not posted from this site.")


def pages_of(request: Request) -> Pages:
    return request.app.state.ui_pages  # type: ignore[no-any-return]


def keystone(svc: Services) -> bool:
    return svc.settings.default.auth_strategy == "keystone"


def challenge(svc: Services) -> str | None:
    """``WWW-Authenticate`` of a 401 page: with ``http_basic`` a Basic challenge, so that
    the browser asks for a user and password (the API's 401 has none, as upstream's)."""
    if svc.settings.default.auth_strategy == "http_basic":
        return BASIC_CHALLENGE
    return svc.auth.challenge


def html(request: Request, template: str, status_code: int = 200,
         headers: Mapping[str, str] | None = None, **context: Any) -> Response:
    svc = services_of(request)
    body = pages_of(request).render(
        template, prefix=mount_prefix(request),
        logout=keystone(svc) and COOKIE in request.cookies, **context)
    return Response(body, status_code, {**SECURITY_HEADERS, **(headers or {})},
                    media_type="text/html; charset=utf-8")


def error_page(request: Request, exc: MetalScopeError) -> Response:
    status = status_for(exc)
    headers = {}
    svc = services_of(request)
    www_authenticate = challenge(svc)
    if isinstance(exc, NotAuthenticated) and www_authenticate is not None:
        headers["WWW-Authenticate"] = www_authenticate
    if status >= 500:
        LOG.warning("Fleet page %s failed: %s", request.url.path, exc)
    return html(request, "error.html", status, headers, status=status,
                reason=REASONS.get(status, "Error"), message=str(exc),
                login=keystone(svc) and status in (401, 403))


def credentials(request: Request, svc: Services) -> Mapping[str, str]:
    """The request's headers, with the login cookie's token when no header carries one."""
    token = request.cookies.get(COOKIE)
    if not keystone(svc) or not token or "x-auth-token" in request.headers:
        return request.headers
    return {**{name.lower(): value for name, value in request.headers.items()},
            "x-auth-token": token}


async def page(request: Request, svc: Services, build: Build) -> Response:
    """``build``'s page once the caller passes the policy; an error as a page."""
    try:
        await svc.auth.check(RULE, credentials(request, svc), False)
        return await build(request, svc)
    except MetalScopeError as exc:
        return error_page(request, exc)


@router.get("", summary="The fleet page (redirects to /ui/)")
async def fleet_redirect(request: Request) -> Response:
    return RedirectResponse(f"{mount_prefix(request)}/ui/", 307, SECURITY_HEADERS)


@router.get("/", summary="Fleet page: every node, filtered, sorted and paged")
async def fleet(request: Request, svc: ServicesDep) -> Response:
    return await page(request, svc, _fleet)


async def _fleet(request: Request, svc: Services) -> Response:
    query = FleetQuery.parse(_single_params(request))
    if query.offset > MAX_OFFSET:
        raise InvalidRequest(f"offset must be at most {MAX_OFFSET}, got {query.offset}")
    result = await svc.repo.fleet.page(query)
    hidden = [(name, value) for name, value in query_params(query).items()
              if name not in ("q", "state", "offset")]
    return html(request, "fleet.html", view=fleet_view(result), hidden=hidden,
                query_state=query.state)


def _single_params(request: Request) -> dict[str, str]:
    """The query parameters, each given at most once."""
    params: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name in params:
            raise InvalidRequest(f"Bad request: parameter {name} given more than once")
        params[name] = value
    return params


@router.get("/nodes/{node_id}", summary="Node page: hardware, stored data, history and diff")
async def node(request: Request, node_id: str, svc: ServicesDep) -> Response:
    async def build(request: Request, svc: Services) -> Response:
        return await _node(request, svc, node_id)
    return await page(request, svc, build)


async def _node(request: Request, svc: Services, node_id: str) -> Response:
    params = _single_params(request)
    from_version = history_queries.parse_version_number(params.get("from"), "from")
    to_version = history_queries.parse_version_number(params.get("to"), "to")
    row = await svc.repo.fleet.row(node_id) or await _row_by_name(svc, node_id)
    if row is None:
        raise NotFound(f"MetalScope knows no node {node_id}.")
    text, stored = await _stored(svc, row.uuid)
    view = node_view.node_view(row, node_view.parsed(text), stored)
    history, diff, note = await _history(svc, row.uuid, from_version, to_version,
                                         f"{mount_prefix(request)}/ui/nodes/{row.uuid}")
    return html(request, "node.html", node=view, history=history, diff=diff, diff_note=note)


async def _row_by_name(svc: Services, name: str) -> FleetRow | None:
    """The row of the one node named ``name`` (names are unique in Ironic), if any."""
    if not name or len(name) > MAX_SEARCH:
        return None
    found = await svc.repo.fleet.page(FleetQuery(search=name, limit=MAX_LIMIT))
    named = [row for row in found.rows if row.name == name]
    return named[0] if len(named) == 1 else None


async def _stored(svc: Services, uuid: str) -> tuple[str | None, node_view.StoredData]:
    """The stored processed JSON text (whatever store is configured) and its panel."""
    store = svc.data_store
    try:
        text = await store.get(uuid, True) if store.enabled else None
    except MetalScopeError as exc:
        return None, node_view.stored_data(None, enabled=True, failure=str(exc))
    return text, node_view.stored_data(text, enabled=store.enabled)


async def _history(svc: Services, uuid: str, from_version: int | None, to_version: int | None,
                   path: str) -> tuple[list[diff_view.VersionRow] | None,
                                       diff_view.DiffView | None, str | None]:
    """The history table, the diff and a note when there is no diff (None: not kept)."""
    if not history_queries.history_kept(svc.settings):
        if from_version is not None or to_version is not None:
            raise history_queries.HistoryNotKept()
        return None, None, None
    versions = await svc.repo.list_versions(uuid, limit=HISTORY_ROWS)
    if len(versions) < 2 and from_version is None and to_version is None:
        note = "Only one version recorded: nothing to compare yet." if versions else None
        return diff_view.history_rows(path, versions, None), None, note
    result = await history_queries.diff_versions(
        svc, uuid, None if from_version is None else str(from_version),
        None if to_version is None else str(to_version))
    shown = (result.old.version, result.new.version)
    return (diff_view.history_rows(path, versions, shown),
            diff_view.diff_view(result.old, result.new, result.diff), None)


@router.get("/static/{name}", summary="The fleet pages' stylesheet and script")
async def static(request: Request, name: str) -> Response:
    body = pages_of(request).static.get(name)
    if body is None:
        return error_page(request, NotFound(f"No static file {name}."))
    return Response(body, 200, {**SECURITY_HEADERS, "Cache-Control": "max-age=3600"},
                    media_type=STATIC_TYPES[name])


@router.get("/login", summary="Keystone login form (auth_strategy = keystone only)")
async def login_form(request: Request, svc: ServicesDep) -> Response:
    if not keystone(svc):
        return error_page(request, NotKeystone())
    return html(request, "login.html", message=None)


@router.post("/login", summary="Check a Keystone token and keep it in a cookie")
async def login(request: Request, svc: ServicesDep) -> Response:
    try:
        _check_form(request, svc)
        token = await _form_token(request)
        await svc.auth.check(RULE, {"x-auth-token": token}, False)
    except NotAuthenticated:
        return html(request, "login.html", 401, message="The token is not valid.")
    except MetalScopeError as exc:
        return error_page(request, exc)
    response = RedirectResponse(f"{mount_prefix(request)}/ui/", 303, SECURITY_HEADERS)
    response.set_cookie(COOKIE, token, path=f"{mount_prefix(request)}/ui", httponly=True,
                        samesite="strict", secure=request.url.scheme == "https")
    return response


@router.post("/logout", summary="Forget the login cookie")
async def logout(request: Request, svc: ServicesDep) -> Response:
    try:
        _check_form(request, svc)
    except MetalScopeError as exc:
        return error_page(request, exc)
    response = RedirectResponse(f"{mount_prefix(request)}/ui/login", 303, SECURITY_HEADERS)
    response.delete_cookie(COOKIE, path=f"{mount_prefix(request)}/ui", httponly=True,
                           samesite="strict", secure=request.url.scheme == "https")
    return response


def _check_form(request: Request, svc: Services) -> None:
    if not keystone(svc):
        raise NotKeystone()
    own = f"{request.url.scheme}://{request_host(request)}"
    if not same_origin(own, request.headers.get("origin"), request.headers.get("referer")):
        raise CrossSite()


async def _form_token(request: Request) -> str:
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise InvalidRequest("Bad request: the login form is too large")
    try:
        values = parse_qs(body.decode("ascii"), max_num_fields=4)
    except (UnicodeDecodeError, ValueError):
        raise InvalidRequest("Bad request: the login form could not be read") from None
    tokens = values.get("token", [])
    if len(tokens) != 1 or not tokens[0].strip():
        raise InvalidRequest("Bad request: the form needs one token")
    return tokens[0].strip()
