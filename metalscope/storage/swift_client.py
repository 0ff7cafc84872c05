"""SwiftClient: the few asynchronous Swift requests the ``swift`` data store makes.

keystoneauth, configured by ``[swift]`` as upstream configures it (session, authentication and
adapter options: ``auth_type``, ``auth_url``, ``endpoint_override``, ``service_type``
``object-store``, ``valid_interfaces``, ``region_name``, ``cafile``/``insecure``, ``timeout``),
only resolves the account URL and the token; it blocks, so it runs in a thread, and its
answers are kept until Swift answers 401 (then they are fetched again, once per request, as
keystoneauth's own session re-authenticates once). The requests themselves go through httpx.

Retries are keystoneauth's adapter options, read from ``[swift]`` as upstream's object store
proxy reads them: ``connect_retries`` (connection failures and timeouts, default 0),
``status_code_retries`` for the codes of ``retriable_status_codes`` (default 0, codes 429 and
503), each waiting ``connect_retry_delay``/``status_code_retry_delay`` seconds, or 0.5 s doubling
up to 60 s when unset.

Failures raise :class:`SwiftRequestFailed` worded as upstream's object store client words them
(``NotFoundException: 404: Client Error for url: <url>, <details>``, ``Unable to establish
connection to <url>: <error>``), or :class:`SwiftUnreachable` when keystoneauth cannot give a
token or an endpoint.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, TypeVar
from urllib.parse import quote

import httpx
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth as ks_noauth

T = TypeVar("T")

DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
#: keystoneauth's retry pacing when no fixed delay is configured.
FIRST_DELAY = 0.5
MAX_DELAY = 60.0
RETRIABLE_STATUS_CODES = (429, 503)

#: The exception class names of upstream's object store client, by status.
_EXCEPTION_NAMES = {400: "BadRequestException", 403: "ForbiddenException",
                    404: "NotFoundException", 409: "ConflictException",
                    412: "PreconditionFailedException"}


class SwiftUnreachable(Exception):
    """keystoneauth could not give Swift's endpoint or a token."""


class SwiftRequestFailed(Exception):
    """A request to Swift failed: an answer outside 2xx (``status``) or no answer (None)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


# -- decisions (pure functions) ---------------------------------------------------------------

def error_details(content_type: str, text: str, reason: str) -> str:
    """What an error answer says: the messages of a JSON body, the lines of an HTML page
    without their tags (joined by ': '), else the reason phrase."""
    details = ""
    if text and "application/json" in content_type:
        details = _json_messages(text)
    elif text and "text/html" in content_type:
        lines: list[str] = []
        for line in text.splitlines():
            bare = re.sub(r"<.+?>", "", line.strip())
            if bare not in lines:
                lines.append(bare)
        details = ": ".join(line for line in lines if line)
    return details or reason or text


def _json_messages(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text
    if not isinstance(body, dict):
        return text
    found = [_message_of(value) for value in body.values()] or [_message_of(body)]
    if not any(found):
        found = [_message_of(body)]
    return "\n".join(message for message in found if message)


def _message_of(value: object) -> str | None:
    if isinstance(value, dict):
        message = value.get("message") or value.get("faultstring")
        return str(message) if message else None
    return None


def status_error_text(status: int, url: str, details: str) -> str:
    """An error answer as upstream's object store client words it."""
    name = _EXCEPTION_NAMES.get(status, "HttpException")
    source = "Client" if 400 <= status < 500 else "Server"
    text = f"{name}: {status}: {source} Error for url: {url}"
    return f"{text}, {details}" if details else text


def transport_error_text(url: str, exc: httpx.RequestError) -> str:
    """A request that got no answer, as keystoneauth words it."""
    if isinstance(exc, httpx.TimeoutException):
        return f"Request to {url} timed out"
    return f"Unable to establish connection to {url}: {exc or type(exc).__name__}"


def delay_for(retry: int, fixed: float | None) -> float:
    """Seconds before retry number ``retry`` (1-based)."""
    if fixed:
        return fixed
    return float(min(FIRST_DELAY * 2 ** (retry - 1), MAX_DELAY))


def object_url(endpoint: str, container: str, name: str | None = None) -> str:
    url = f"{endpoint.rstrip('/')}/{quote(container, safe='')}"
    return url if name is None else f"{url}/{quote(name, safe='')}"


@dataclass(frozen=True)
class Retries:
    """keystoneauth's adapter retry options (``[swift]connect_retries`` and so on)."""

    connect: int = 0
    connect_delay: float | None = None
    status: int = 0
    status_delay: float | None = None
    status_codes: tuple[int, ...] = RETRIABLE_STATUS_CODES

    @classmethod
    def from_adapter(cls, adapter: ks_adapter.Adapter) -> Retries:
        codes = adapter.retriable_status_codes
        return cls(connect=adapter.connect_retries or 0,
                   connect_delay=adapter.connect_retry_delay,
                   status=adapter.status_code_retries or 0,
                   status_delay=adapter.status_code_retry_delay,
                   status_codes=tuple(codes) if codes else RETRIABLE_STATUS_CODES)


# -- where Swift is and how to authenticate ---------------------------------------------------

class SwiftAccess(Protocol):
    """The account URL of Swift and the headers that authenticate a request to it."""

    async def endpoint(self) -> str:
        """The account URL (``http://host:8080/v1/AUTH_<project>``)."""

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authentication headers; ``stale`` are headers Swift just refused with 401."""


class StaticAccess:
    """A fixed account URL and fixed headers (tests)."""

    def __init__(self, url: str, auth_headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.auth_headers = dict(auth_headers or {})

    async def endpoint(self) -> str:
        return self.url

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        return dict(self.auth_headers)


class KeystoneAccess:
    """Account URL and token from a keystoneauth adapter, looked up in a thread and kept."""

    def __init__(self, adapter: ks_adapter.Adapter) -> None:
        self._adapter = adapter
        self._endpoint: str | None = None
        self._headers: dict[str, str] | None = None
        self._lock = asyncio.Lock()

    async def endpoint(self) -> str:
        if self._endpoint is None:
            self._endpoint = await _keystone_call(self._find_endpoint)
        return self._endpoint

    def _find_endpoint(self) -> str:
        url = self._adapter.get_endpoint()
        if not url:
            raise SwiftUnreachable(
                f"no endpoint of service type {self._adapter.service_type} (interfaces "
                f"{self._adapter.interface}, region {self._adapter.region_name}) in the service "
                "catalog; set [swift]endpoint_override or fix the catalog")
        return str(url)

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        async with self._lock:
            if stale is not None and stale == self._headers:
                self._headers = None
                await _keystone_call(self._adapter.invalidate)
            if self._headers is None:
                self._headers = await _keystone_call(self._fetch_headers)
            return dict(self._headers)

    def _fetch_headers(self) -> dict[str, str]:
        auth = self._adapter.auth or self._adapter.session.auth
        if auth is None or isinstance(auth, ks_noauth.NoAuth):
            return {}
        return dict(self._adapter.session.get_auth_headers(auth) or {})


async def _keystone_call(func: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(func)
    except ks_exceptions.ClientException as exc:
        raise SwiftUnreachable(str(exc)) from exc


# -- the client --------------------------------------------------------------------------------

class SwiftClient:
    """PUT or HEAD a container, PUT and GET an object; ``calls`` counts the HTTP requests
    sent."""

    def __init__(self, access: SwiftAccess, http: httpx.AsyncClient,
                 retries: Retries | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.calls = 0
        self._access = access
        self._http = http
        self._retries = retries or Retries()
        self._sleep = sleep

    async def aclose(self) -> None:
        await self._http.aclose()

    async def put_container(self, container: str) -> None:
        await self._request("PUT", container)

    async def head_container(self, container: str) -> None:
        await self._request("HEAD", container)

    async def put_object(self, container: str, name: str, body: bytes,
                         headers: Mapping[str, str]) -> None:
        await self._request("PUT", container, name, body, headers)

    async def get_object(self, container: str, name: str) -> bytes:
        return (await self._request("GET", container, name)).content

    async def _request(self, method: str, container: str, name: str | None = None,
                       body: bytes | None = None,
                       headers: Mapping[str, str] | None = None) -> httpx.Response:
        url = object_url(await self._access.endpoint(), container, name)
        auth = await self._access.headers()
        reauthenticated = False
        connect_retries = status_retries = 0
        while True:
            try:
                self.calls += 1
                response = await self._http.request(method, url, content=body,
                                                    headers={**(headers or {}), **auth})
            except httpx.RequestError as exc:
                if connect_retries >= self._retries.connect:
                    raise SwiftRequestFailed(transport_error_text(url, exc)) from exc
                connect_retries += 1
                await self._sleep(delay_for(connect_retries, self._retries.connect_delay))
                continue
            status = response.status_code
            if status == 401 and auth and not reauthenticated:
                reauthenticated = True
                auth = await self._access.headers(stale=auth)
                continue
            if status in self._retries.status_codes and status_retries < self._retries.status:
                status_retries += 1
                await self._sleep(delay_for(status_retries, self._retries.status_delay))
                continue
            if not response.is_success:
                details = error_details(response.headers.get("content-type", ""),
                                        response.text, response.reason_phrase)
                raise SwiftRequestFailed(status_error_text(status, url, details), status)
            return response
