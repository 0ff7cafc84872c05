"""IronicClient: the asynchronous Ironic REST client of the service (spec section 14).

One shared transport carries every request: plain HTTP through the lean
:class:`~metalscope.http_transport.StreamTransport`, HTTPS through httpx's own transport,
each request handed to it directly (:class:`~metalscope.ironic_http.DirectHTTP`). When the
environment names a proxy (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, with
``NO_PROXY``), an ``httpx.AsyncClient`` with its standard transport sends them instead, as it
mounts those proxies.
keystoneauth1, configured by the ``[ironic]`` section exactly as upstream, only resolves the
endpoint (``endpoint_override`` or the catalog entry of
``service_type``/``valid_interfaces``/``region_name``) and the authentication headers; it
blocks, so it runs in a thread, and its answers are cached until Ironic answers 401 (then they
are fetched again, once per request).

Microversion: upstream negotiates through openstacksdk, so this client does the same. On first
use it reads Ironic's version document (``GET /``) and sends
``X-OpenStack-Ironic-API-Version: min(Ironic's maximum, 1.109)`` on every later request. 1.109
is openstacksdk's own ceiling for nodes; 1.46 is the floor, as it is the first version with
everything relied on: field selection, nodes created in ``enroll``, port ``pxe_enabled`` and
``physical_network``, traits and ``reset_interfaces``. Against Ironic 39 the client sends 1.109.

Errors: every answer outside 2xx raises :class:`~metalscope.errors.IronicError` carrying
Ironic's own message and the HTTP status; an unreachable Ironic raises it with status ``None``.
Retries: 409 "node locked", 503 and connection failures are retried up to ``attempts`` times
with an exponential back-off (0.2 s doubling, at most 2 s). Upstream retries 5 times 1 s apart
and ignores ``[ironic]max_retries``/``retry_interval`` (Q-CONF-1); so does this client. (The
abort's power-off, which may meet Ironic's own lock for longer, repeats the call under those
two options: see ``operations/introspect.py``.) A failure is repeated for any method when the
request cannot have reached Ironic (no connection, not sent whole), otherwise only for the
idempotent methods. A node or port PATCH and a port POST left without an answer are settled by
reading Ironic back (``ironic_reconcile.py``) rather than failed or blindly repeated.

Connections: keep-alive connections are kept ``[ironic]connection_idle_timeout`` seconds
(default 4; Ironic's server closes them after 10 s idle) and checked before each reuse
(``http_transport.py``), so no request is written to a connection Ironic has closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar
from urllib.parse import quote

import httpx
from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import noauth as ks_noauth

from metalscope.errors import ConfigurationError, IronicError, IronicNoAnswer, NodeNotInIronic
from metalscope.http_transport import StreamTransport
from metalscope.ironic_http import USER_AGENT, DirectHTTP, proxy_configured
from metalscope.ironic_reconcile import patch_applied, port_of_node, reconciled
from metalscope.keystone_tls import httpx_verify
from metalscope.latency_share import IRONIC, waiting_on
from metalscope.metrics import Metrics
from metalscope.settings import Settings
from metalscope.settings.libraries import keystone_adapter

LOG = logging.getLogger(__name__)

VERSION_HEADER = "X-OpenStack-Ironic-API-Version"
MIN_API_VERSION = (1, 46)
MAX_API_VERSION = (1, 109)
DEFAULT_ATTEMPTS = 5
DEFAULT_BACKOFF = 0.2
DEFAULT_MAX_BACKOFF = 2.0
DEFAULT_TIMEOUT = 60.0
CONNECT_TIMEOUT = 10.0
#: Requests in flight at once, and connections kept open between requests.
MAX_CONNECTIONS = 50
#: Times a PATCH or POST left without an answer is sent again when Ironic does not show it.
RESENDS = 2

# Methods that may be repeated after a failure that happened once the request was sent.
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures that happen before the whole request reaches Ironic: safe to repeat for any method
# (a request that did not leave whole cannot have been acted on; see http_transport.py).
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.WriteError,
             httpx.WriteTimeout)

T = TypeVar("T")
JSON = dict[str, Any]


# -- decisions (pure functions) ---------------------------------------------------------------

def error_message(status: int, text: str) -> str:
    """Ironic's error text from a response body.

    Ironic wraps it twice: ``{"error_message": "<JSON string>"}`` where the inner document has
    ``faultstring`` (or ``description`` for microversion errors).
    """
    try:
        body = json.loads(text)
    except ValueError:
        return text.strip() or f"HTTP {status}"
    return _message_in(body) or text.strip() or f"HTTP {status}"


def _message_in(body: Any) -> str | None:
    if isinstance(body, str):
        try:
            return _message_in(json.loads(body)) or body
        except ValueError:
            return body
    if not isinstance(body, dict):
        return None
    for key in ("error_message", "faultstring", "description", "message", "error"):
        if body.get(key):
            return _message_in(body[key])
    return None


def should_retry_status(status: int, message: str) -> bool:
    """Whether an answer is transient: a locked node (409) or an unavailable service (503)."""
    if status == 503:
        return True
    # NodeLocked, ParentNodeLocked and ChildNodeLocked all say "locked"; other 409s
    # (duplicate MAC or name, node associated) are permanent.
    return status == 409 and "locked" in message.lower()


def should_retry_exception(method: str, exc: httpx.RequestError) -> bool:
    """Whether a transport failure may be repeated without risking a duplicate effect."""
    return not may_have_arrived(exc) or method.upper() in _IDEMPOTENT


def may_have_arrived(exc: httpx.RequestError) -> bool:
    """Whether Ironic may have received (and acted on) a request that failed with ``exc``."""
    return not isinstance(exc, _NOT_SENT)


def retry_delay(attempt: int, backoff: float = DEFAULT_BACKOFF,
                max_backoff: float = DEFAULT_MAX_BACKOFF) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    return float(min(backoff * 2 ** (attempt - 1), max_backoff))


def parse_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor)


def choose_api_version(root: Mapping[str, Any]) -> str:
    """The microversion to use, from Ironic's version document (``GET /``)."""
    advertised = (root.get("default_version") or {}).get("version")
    if not advertised:
        raise IronicError("Ironic did not advertise its API versions")
    version = min(parse_version(advertised), MAX_API_VERSION)
    if version < MIN_API_VERSION:
        raise IronicError(f"Ironic supports API versions up to {advertised}, MetalScope needs "
                          f"at least {MIN_API_VERSION[0]}.{MIN_API_VERSION[1]}")
    return f"{version[0]}.{version[1]}"


def next_page_params(page: Mapping[str, Any]) -> dict[str, str] | None:
    """The query of the next page of a collection, or None on the last page."""
    link = page.get("next")
    if not link:
        return None
    query = dict(httpx.URL(link).params)
    return query if "marker" in query else None


#: (method, path segments with ``*`` for an identifier) → call name, the metrics' label.
_CALLS: dict[tuple[str, tuple[str, ...]], str] = {
    ("GET", ()): "discover_version",
    ("GET", ("nodes",)): "list_nodes", ("GET", ("nodes", "detail")): "list_nodes",
    ("POST", ("nodes",)): "create_node",
    ("GET", ("nodes", "*")): "get_node", ("PATCH", ("nodes", "*")): "patch_node",
    ("GET", ("nodes", "*", "validate")): "validate_node",
    ("PUT", ("nodes", "*", "management", "boot_device")): "set_boot_device",
    ("PUT", ("nodes", "*", "states", "power")): "set_power_state",
    ("PUT", ("nodes", "*", "traits", "*")): "add_trait",
    ("DELETE", ("nodes", "*", "traits", "*")): "remove_trait",
    ("GET", ("nodes", "*", "inventory")): "get_inventory",
    ("PUT", ("nodes", "*", "maintenance")): "set_maintenance",
    ("DELETE", ("nodes", "*", "maintenance")): "clear_maintenance",
    ("GET", ("ports",)): "list_ports", ("GET", ("ports", "detail")): "list_ports",
    ("POST", ("ports",)): "create_port",
    ("GET", ("ports", "*")): "get_port", ("PATCH", ("ports", "*")): "patch_port",
    ("DELETE", ("ports", "*")): "delete_port",
}
_FIXED_SEGMENTS = frozenset({"nodes", "ports", "detail", "validate", "management",
                             "boot_device", "states", "power", "traits", "inventory",
                             "maintenance"})


def call_name(method: str, path: str) -> str:
    """The name of the Ironic call a request makes (``get_node``, ``patch_port``...), from a
    fixed set; ``other`` for a request outside it. Identifiers never reach the name."""
    segments = [part for part in path.split("/") if part][1:]  # without "v1"
    shape = tuple(part if part in _FIXED_SEGMENTS else "*" for part in segments)
    return _CALLS.get((method.upper(), shape), "other")


def api_root(endpoint: str) -> str:
    """The endpoint without trailing slash or ``/v1`` (catalogs list either form)."""
    return endpoint.rstrip("/").removesuffix("/v1")


def _fields(fields: Sequence[str] | None) -> dict[str, str]:
    return {"fields": ",".join(fields)} if fields else {}


def _quoted(value: str) -> str:
    return quote(value, safe="")


def _decoded(response: httpx.Response) -> Any:
    """The JSON body of a successful answer (None when empty); IronicError for any other."""
    if not response.is_success:
        raise IronicError(error_message(response.status_code, response.text),
                          response.status_code)
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise IronicError(f"Ironic answered {response.request.method} {response.request.url} "
                          f"with a body that is not JSON: {response.text[:200]!r}",
                          response.status_code) from exc


# -- where Ironic is and how to authenticate --------------------------------------------------

class Credentials(Protocol):
    """Where Ironic is, and the headers that authenticate a request to it."""

    async def endpoint(self) -> str:
        """Ironic's base URL."""

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        """Authentication headers; ``stale`` are headers Ironic just rejected with 401."""


class StaticCredentials:
    """A fixed endpoint and fixed headers (tests, or a standalone Ironic without auth)."""

    def __init__(self, url: str, auth_headers: Mapping[str, str] | None = None) -> None:
        self.url = url
        self.auth_headers = dict(auth_headers or {})

    async def endpoint(self) -> str:
        return self.url

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        return dict(self.auth_headers)


class KeystoneCredentials:
    """Endpoint and headers from a keystoneauth adapter, looked up in a thread and cached."""

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
            raise IronicError(
                f"Cannot find the Ironic endpoint (service type {self._adapter.service_type}, "
                f"interfaces {self._adapter.interface}, region {self._adapter.region_name}); "
                "set [ironic]endpoint_override or fix the service catalog")
        return str(url)

    async def headers(self, stale: Mapping[str, str] | None = None) -> dict[str, str]:
        async with self._lock:
            if stale is not None and stale == self._headers:
                # Only the first request that saw the 401 invalidates; the others reuse its token.
                self._headers = None
                await _keystone_call(self._adapter.invalidate)
            if self._headers is None:
                self._headers = await _keystone_call(self._fetch_headers)
            return dict(self._headers)

    def _fetch_headers(self) -> dict[str, str]:
        auth = self._adapter.auth or self._adapter.session.auth
        if auth is None or isinstance(auth, ks_noauth.NoAuth):
            return {}  # NoAuth would send "X-Auth-Token: notused"
        return dict(self._adapter.session.get_auth_headers(auth) or {})


async def _keystone_call(func: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(func)
    except ks_exceptions.ClientException as exc:
        status = getattr(exc, "http_status", None)
        raise IronicError(f"Cannot authenticate to Ironic: {exc}", status) from exc


def _keystone_adapter(settings: Settings) -> ks_adapter.Adapter:
    try:
        return keystone_adapter(settings, "ironic")
    except (ks_exceptions.ClientException, TypeError, ValueError) as exc:
        raise ConfigurationError(f"Invalid [ironic] authentication options: {exc}") from exc


# -- the client --------------------------------------------------------------------------------

class IronicClient:
    """Async access to the Ironic API calls MetalScope makes (spec section 14).

    ``calls`` counts every HTTP request sent to Ironic, retries and version discovery included.
    ``page_size`` sets ``limit`` on collection requests (default: Ironic's own maximum).
    ``api_version`` skips negotiation and sends that microversion. ``http`` sends the
    requests: a :class:`~metalscope.ironic_http.DirectHTTP` or any ``httpx.AsyncClient``.
    """

    def __init__(self, credentials: Credentials, http: httpx.AsyncClient | DirectHTTP, *,
                 attempts: int = DEFAULT_ATTEMPTS, backoff: float = DEFAULT_BACKOFF,
                 max_backoff: float = DEFAULT_MAX_BACKOFF, page_size: int | None = None,
                 api_version: str | None = None, metrics: Metrics | None = None) -> None:
        self.calls = 0
        #: Where request latencies and errors are counted.
        self.metrics = metrics or Metrics()
        self.api_version = api_version
        self._credentials = credentials
        self._http = http
        self._attempts = max(1, attempts)
        self._backoff = backoff
        self._max_backoff = max_backoff
        self._page_size = page_size
        self._version_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **options: Any) -> IronicClient:
        """A client for the ``[ironic]`` section; ``options`` go to the constructor."""
        adapter = _keystone_adapter(settings)
        timeout = settings.ironic.timeout or DEFAULT_TIMEOUT
        idle = settings.ironic.connection_idle_timeout
        limits = httpx.Limits(max_connections=MAX_CONNECTIONS,
                              max_keepalive_connections=MAX_CONNECTIONS if idle > 0 else 0,
                              keepalive_expiry=idle)
        verify = httpx_verify(adapter.session)
        timeouts = httpx.Timeout(timeout, connect=CONNECT_TIMEOUT)
        http: httpx.AsyncClient | DirectHTTP
        if proxy_configured():
            # httpx mounts the environment's proxies only when given no transport of its own.
            http = httpx.AsyncClient(verify=verify, limits=limits, timeout=timeouts,
                                     headers={"User-Agent": USER_AGENT})
        else:
            tls = httpx.AsyncHTTPTransport(verify=verify, limits=limits)
            http = DirectHTTP(StreamTransport(tls, MAX_CONNECTIONS, idle), timeouts)
        return cls(KeystoneCredentials(adapter), http, **options)

    async def aclose(self) -> None:
        """Close the pooled connections."""
        await self._http.aclose()

    async def check_access(self) -> str:
        """One authenticated request (the first node's UUID): IronicError unless Ironic
        answers it with the configured credentials. Returns the negotiated API version."""
        await self._json("GET", "/v1/nodes", params={"limit": "1", "fields": "uuid"})
        assert self.api_version is not None
        return self.api_version

    # -- nodes ----------------------------------------------------------------------------------

    async def get_node(self, node_id: str, fields: Sequence[str] | None = None) -> JSON:
        """The node by UUID or name; unknown → NodeNotInIronic, invalid → "Cannot get node"."""
        try:
            node: JSON = await self._json("GET", f"/v1/nodes/{_quoted(node_id)}",
                                          params=_fields(fields))
        except IronicError as exc:
            if exc.status == 404:
                raise NodeNotInIronic(node_id) from exc
            if exc.status == 400:
                raise IronicError(f"Cannot get node {node_id}: {exc.message}", 400) from exc
            raise
        return node

    async def validate_node(self, uuid: str) -> JSON:
        """Ironic's validation of each interface of the node (``power.result`` and so on)."""
        result: JSON = await self._json("GET", f"/v1/nodes/{_quoted(uuid)}/validate")
        return result

    async def list_nodes(self, fields: Sequence[str] | None = None) -> list[JSON]:
        """Every node (all pages), with only ``fields`` if given."""
        if fields:
            return await self._collect("/v1/nodes", "nodes", _fields(fields))
        return await self._collect("/v1/nodes/detail", "nodes", {})

    async def create_node(self, **fields: Any) -> JSON:
        """Create a node; at the negotiated microversion it starts in ``enroll``."""
        node: JSON = await self._json("POST", "/v1/nodes", body=fields)
        return node

    async def patch_node(self, uuid: str, ops: list[JSON],
                         reset_interfaces: bool | None = None) -> JSON:
        """Apply a JSON patch; ``reset_interfaces`` accompanies a driver change (API 1.45).

        Returns the node as Ironic has it after the patch. When the answer is lost, the node
        is read back: the patch is done if the node shows it, sent again if not (a 400 to
        that resend is believed only if the node still does not show it).
        """
        path = f"/v1/nodes/{_quoted(uuid)}"
        params = {} if reset_interfaces is None else {"reset_interfaces": str(reset_interfaces)}

        async def send() -> JSON:
            node: JSON = await self._json("PATCH", path, params=params, body=ops)
            return node

        async def read_back() -> JSON | None:
            node = await self.get_node(uuid)
            return node if patch_applied(node, ops) else None

        return await reconciled(f"PATCH of node {uuid}", send, read_back, conflicts={400},
                                resends=RESENDS)

    async def set_boot_device(self, uuid: str, device: str, persistent: bool = False) -> None:
        """Set the next boot device (``pxe`` for introspection)."""
        await self._json("PUT", f"/v1/nodes/{_quoted(uuid)}/management/boot_device",
                         body={"boot_device": device, "persistent": persistent})

    async def set_power_state(self, uuid: str, target: str) -> None:
        """Request ``rebooting``, ``power on`` or ``power off``; Ironic acts in the background."""
        await self._json("PUT", f"/v1/nodes/{_quoted(uuid)}/states/power",
                         body={"target": target})

    async def add_trait(self, uuid: str, trait: str) -> None:
        """Add one trait to the node."""
        await self._json("PUT", f"/v1/nodes/{_quoted(uuid)}/traits/{_quoted(trait)}")

    async def remove_trait(self, uuid: str, trait: str) -> None:
        """Remove one trait; a trait (or node) that is not there is not an error."""
        try:
            await self._json("DELETE", f"/v1/nodes/{_quoted(uuid)}/traits/{_quoted(trait)}")
        except IronicError as exc:
            if exc.status != 404:
                raise

    # -- ports ----------------------------------------------------------------------------------

    async def list_node_ports(self, node_uuid: str) -> list[JSON]:
        """Every port of the node with all fields (all pages)."""
        return await self._collect("/v1/ports/detail", "ports", {"node": node_uuid})

    async def list_ports(self, fields: Sequence[str] | None = None) -> list[JSON]:
        """Every port of every node (all pages), with only ``fields`` if given."""
        if fields:
            return await self._collect("/v1/ports", "ports", _fields(fields))
        return await self._collect("/v1/ports/detail", "ports", {})

    async def find_ports_by_address(self, mac: str,
                                    fields: Sequence[str] = ("uuid", "node_uuid")) -> list[JSON]:
        """The ports with this MAC address (at most one in a healthy Ironic)."""
        return await self._collect("/v1/ports", "ports", {"address": mac, **_fields(fields)})

    async def create_port(self, node_uuid: str, address: str,
                          extra: Mapping[str, Any] | None = None,
                          pxe_enabled: bool = True) -> JSON:
        """Create a port; a MAC already in use answers 409.

        When the answer is lost, the port is looked up by its address: found on this node,
        it was created; otherwise the POST is sent again (and a 409 then is looked into once
        more, as the first POST may have landed meanwhile).
        """
        body = {"node_uuid": node_uuid, "address": address, "extra": dict(extra or {}),
                "pxe_enabled": pxe_enabled}

        async def send() -> JSON:
            port: JSON = await self._json("POST", "/v1/ports", body=body)
            return port

        async def read_back() -> JSON | None:
            ports = await self._collect("/v1/ports/detail", "ports", {"address": address})
            return port_of_node(ports, node_uuid)

        return await reconciled(f"creation of port {address} of node {node_uuid}", send,
                                read_back, conflicts={409}, resends=RESENDS)

    async def patch_port(self, port_uuid: str, ops: list[JSON]) -> JSON:
        """Apply a JSON patch to a port (a lost answer is settled as for a node)."""
        path = f"/v1/ports/{_quoted(port_uuid)}"

        async def send() -> JSON:
            port: JSON = await self._json("PATCH", path, body=ops)
            return port

        async def read_back() -> JSON | None:
            port: JSON = await self._json("GET", path)
            return port if patch_applied(port, ops) else None

        return await reconciled(f"PATCH of port {port_uuid}", send, read_back,
                                conflicts={400}, resends=RESENDS)

    async def delete_port(self, port_uuid: str) -> None:
        """Delete a port."""
        await self._json("DELETE", f"/v1/ports/{_quoted(port_uuid)}")

    # -- one page of a collection ---------------------------------------------------------------

    async def list_page(self, path: str, key: str,
                        params: Mapping[str, str]) -> tuple[list[JSON], str | None]:
        """One page of the collection at ``path`` (items under ``key``) with the query
        ``params`` as given (``limit``, ``marker``, ``sort_key``, ``sort_dir``, ``fields``...),
        and the marker of the next page: None when Ironic says this page is the last."""
        page = await self._json("GET", path, params=dict(params))
        items: list[JSON] = list(page.get(key) or [])
        following = next_page_params(page)
        return items, (following or {}).get("marker") if items else None

    # -- transport ------------------------------------------------------------------------------

    async def _collect(self, path: str, key: str, params: Mapping[str, str]) -> list[JSON]:
        query = dict(params)
        if self._page_size:
            query["limit"] = str(self._page_size)
        items: list[JSON] = []
        while True:
            page = await self._json("GET", path, params=query)
            items.extend(page.get(key) or [])
            following = next_page_params(page)
            if following is None or not page.get(key):
                return items
            query = {**query, **following}

    async def _json(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                    body: Any = None) -> Any:
        version = await self._negotiated_version()
        return _decoded(await self._send(method, path, params, body, {VERSION_HEADER: version}))

    async def _negotiated_version(self) -> str:
        if self.api_version is None:
            async with self._version_lock:
                if self.api_version is None:
                    self.api_version = choose_api_version(await self._version_document())
                    LOG.info("Using Ironic API version %s", self.api_version)
        return self.api_version

    async def _version_document(self) -> Any:
        return _decoded(await self._send("GET", "/", None, None, {}))

    async def _send(self, method: str, path: str, params: Mapping[str, str] | None, body: Any,
                    headers: Mapping[str, str]) -> httpx.Response:
        # The whole exchange is a wait on Ironic for the request's latency share: every
        # attempt, the token it needs and the back-off sleeps between attempts (a pause
        # Ironic imposed by failing; the inspector does nothing meanwhile).
        with waiting_on(IRONIC):
            return await self._send_attempts(method, path, params, body, headers)

    async def _send_attempts(self, method: str, path: str, params: Mapping[str, str] | None,
                             body: Any, headers: Mapping[str, str]) -> httpx.Response:
        attempt = 1
        while True:
            last = attempt >= self._attempts
            response = await self._attempt(method, path, params, body, headers, last)
            if response is not None:
                return response
            await asyncio.sleep(retry_delay(attempt, self._backoff, self._max_backoff))
            attempt += 1

    async def _attempt(self, method: str, path: str, params: Mapping[str, str] | None,
                       body: Any, headers: Mapping[str, str], last: bool) -> httpx.Response | None:
        """One try: the response to hand back, or None when it is worth trying again."""
        try:
            response = await self._send_authenticated(method, path, params, body, headers)
        except httpx.RequestError as exc:
            if last or not should_retry_exception(method, exc):
                error = IronicNoAnswer if may_have_arrived(exc) else IronicError
                raise error(f"Cannot reach Ironic: {exc or type(exc).__name__}") from exc
            LOG.debug("%s %s failed (%s), retrying", method, path, exc)
            return None
        if last or response.is_success:
            return response
        message = error_message(response.status_code, response.text)
        if not should_retry_status(response.status_code, message):
            return response
        LOG.debug("%s %s answered %s (%s), retrying", method, path, response.status_code, message)
        return None

    async def _send_authenticated(self, method: str, path: str,
                                  params: Mapping[str, str] | None, body: Any,
                                  headers: Mapping[str, str]) -> httpx.Response:
        """One request (with a new token once when Ironic answers 401), counted in the
        metrics: its latency, and an error when it got an error status or no answer."""
        started = time.monotonic()
        try:
            response = await self._send_once(method, path, params, body, headers)
        except httpx.RequestError:
            self.metrics.ironic_request(call_name(method, path), time.monotonic() - started,
                                        None)
            raise
        self.metrics.ironic_request(call_name(method, path), time.monotonic() - started,
                                    response.status_code)
        return response

    async def _send_once(self, method: str, path: str, params: Mapping[str, str] | None,
                         body: Any, headers: Mapping[str, str]) -> httpx.Response:
        url = api_root(await self._credentials.endpoint()) + path
        auth = await self._credentials.headers()
        response = await self._request(method, url, params, body, {**headers, **auth})
        if response.status_code == 401:
            auth = await self._credentials.headers(stale=auth)
            response = await self._request(method, url, params, body, {**headers, **auth})
        return response

    async def _request(self, method: str, url: str, params: Mapping[str, str] | None,
                       body: Any, headers: Mapping[str, str]) -> httpx.Response:
        self.calls += 1
        return await self._http.request(method, url, params=params, headers=headers,
                                        json=body)

    # -- inspection rules (Ironic's own, API 1.96): ``metalscope rules push-to-ironic`` --------

    async def _rules_version(self) -> str:
        version = await self._negotiated_version()
        if parse_version(version) < (1, 96):
            raise IronicError(f"Ironic's API {version} has no inspection rules (they need "
                              "1.96, Ironic 33 or later)")
        return version

    async def list_inspection_rules(self) -> list[JSON]:
        """Every inspection rule stored in Ironic, with its conditions and actions."""
        await self._rules_version()
        return await self._collect("/v1/inspection_rules", "inspection_rules",
                                   {"detail": "true"})

    async def create_inspection_rule(self, rule: JSON) -> JSON:
        """Create one inspection rule (Ironic validates it: IronicError with its reason)."""
        await self._rules_version()
        created: JSON = await self._json("POST", "/v1/inspection_rules", body=rule)
        return created

    # -- Ironic's own inspections (API 1.81): the follower (``metalscope.follower``) ----------

    async def list_nodes_page(self, *, fields: Sequence[str], sort_key: str,
                              sort_dir: str = "asc", limit: int,
                              marker: str | None = None) -> tuple[list[JSON], str | None]:
        """One page of nodes sorted by ``sort_key`` with only ``fields``, after ``marker``
        (a node UUID); the nodes and the marker of the next page (None on the last)."""
        params = {"fields": ",".join(fields), "sort_key": sort_key, "sort_dir": sort_dir,
                  "limit": str(limit)}
        if marker is not None:
            params["marker"] = marker
        page = await self._json("GET", "/v1/nodes", params=params)
        nodes: list[JSON] = list(page.get("nodes") or [])
        following = next_page_params(page)
        return nodes, (following or {}).get("marker") if nodes else None

    async def get_inventory(self, node_id: str) -> JSON:
        """The inventory and plugin data Ironic keeps of the node's last inspection
        (``{"inventory": ..., "plugin_data": ...}``); IronicError 404 when the node or its
        inventory is not found (the messages differ), or when Ironic is older than 1.81."""
        version = await self._negotiated_version()
        if parse_version(version) < (1, 81):
            raise IronicError(f"Ironic's API {version} does not serve inventories (they need "
                              "1.81)", 404)
        answer: JSON = await self._json("GET", f"/v1/nodes/{_quoted(node_id)}/inventory")
        return answer

    async def set_maintenance(self, uuid: str, reason: str) -> None:
        """Put the node in maintenance with ``reason``."""
        await self._json("PUT", f"/v1/nodes/{_quoted(uuid)}/maintenance",
                         body={"reason": reason})

    async def clear_maintenance(self, uuid: str) -> None:
        """Take the node out of maintenance."""
        await self._json("DELETE", f"/v1/nodes/{_quoted(uuid)}/maintenance")
