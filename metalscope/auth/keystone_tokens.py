"""Validation of callers' Keystone tokens against the Identity API, without blocking the loop.

MetalScope authenticates itself with the service credentials of ``[keystone_authtoken]``
(``auth_type``, ``auth_url``, ``username``, ``password``, ``project_name``, ... loaded with
keystoneauth, as keystonemiddleware does) and asks ``GET /v3/auth/tokens`` about each caller's
token. keystoneauth blocks, so it only runs in a thread to obtain the service token and the
Identity endpoint (the catalog entry of ``interface``/``region_name``, or ``auth_url`` when the
catalog has none); both are cached. The validation requests go through one shared
``httpx.AsyncClient``.

Keystone's answers: 200 is a valid token; 404 an unknown, expired or revoked one; 401 means
the service token itself was refused, which is retried once with a fresh service token.
Anything else, and an unreachable Keystone after ``http_request_max_retries`` attempts, is
:class:`~metalscope.errors.ServiceUnavailable` (503), as with keystonemiddleware.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
from keystoneauth1 import exceptions as ks_exceptions
from keystoneauth1 import session as ks_session

from metalscope.auth.base import Identity
from metalscope.errors import ConfigurationError, ServiceUnavailable
from metalscope.keystone_tls import httpx_verify
from metalscope.settings import Settings
from metalscope.settings.libraries import keystone_auth

LOG = logging.getLogger(__name__)

UNAVAILABLE = "The Keystone service is temporarily unavailable."
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
RETRY_DELAY = 0.5
T = TypeVar("T")


@dataclass(frozen=True)
class ValidToken:
    identity: Identity
    expires_at: datetime | None


# -- reading a token document (pure) ----------------------------------------------------------

def _id(section: Any) -> str | None:
    return section.get("id") if isinstance(section, Mapping) else None


def identity_from_token(document: Mapping[str, Any]) -> Identity:
    """The caller described by a v3 token document (``{"token": {...}}``)."""
    token = document["token"]
    user = token["user"]
    project = token.get("project") or {}
    system = token.get("system") or {}
    return Identity(
        user=user.get("name") or user["id"],
        roles=tuple(role["name"] for role in token.get("roles") or ()),
        user_id=user.get("id"), user_domain_id=_id(user.get("domain")),
        project_id=_id(project), project_domain_id=_id(project.get("domain")),
        domain_id=_id(token.get("domain")),
        system_scope="all" if system.get("all") else None,
    )


def token_expiry(document: Mapping[str, Any]) -> datetime | None:
    """When the token expires (UTC), None if the document does not say."""
    text = document["token"].get("expires_at")
    if not text:
        return None
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_token(document: Mapping[str, Any]) -> ValidToken | None:
    """The valid token in a 200 answer; None when it is malformed or already expired."""
    try:
        token = ValidToken(identity_from_token(document), token_expiry(document))
    except (KeyError, TypeError, ValueError, AttributeError):
        LOG.warning("Keystone returned a token document MetalScope cannot read")
        return None
    if token.expires_at is not None and token.expires_at <= datetime.now(UTC):
        return None
    return token


# -- MetalScope's own credentials (keystoneauth, in threads) ----------------------------------

class ServiceCredentials:
    """MetalScope's service token and the Identity v3 endpoint, from ``[keystone_authtoken]``."""

    def __init__(self, auth: Any, session: ks_session.Session, interface: str,
                 region_name: str | None) -> None:
        self._auth = auth
        self.session = session
        self._interface = interface
        self._region_name = region_name
        self._endpoint: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ServiceCredentials:
        section = settings.keystone_authtoken
        try:
            auth = keystone_auth(settings, "keystone_authtoken")
        except (ks_exceptions.ClientException, TypeError, ValueError) as exc:
            raise ConfigurationError(f"Invalid [keystone_authtoken] options: {exc}") from exc
        if auth.plugin is None:
            raise ConfigurationError("[keystone_authtoken] needs auth_type (e.g. password) and "
                                     "the service credentials to validate tokens with")
        return cls(auth.plugin, auth.session, section.interface, section.region_name)

    @property
    def auth_url(self) -> str | None:
        return getattr(self._auth, "auth_url", None)

    async def token(self) -> str:
        token = await _keystone_call(lambda: self._auth.get_token(self.session))
        if not token:
            raise ServiceUnavailable(UNAVAILABLE)
        return str(token)

    async def invalidate(self) -> None:
        await _keystone_call(self._auth.invalidate)

    async def endpoint(self) -> str:
        """The Identity v3 base URL (ending in ``/v3``), looked up once."""
        if self._endpoint is None:
            self._endpoint = await _keystone_call(self._find_endpoint)
        return self._endpoint

    def _find_endpoint(self) -> str:
        url = self._auth.get_endpoint(self.session, service_type="identity",
                                      interface=self._interface, region_name=self._region_name,
                                      version=(3, 0))
        if not url:
            LOG.warning("No %s identity endpoint in region %s of the service catalog; "
                        "validating tokens at auth_url %s", self._interface, self._region_name,
                        self.auth_url)
            url = self._auth.get_endpoint(self.session, endpoint_override=self.auth_url,
                                          version=(3, 0)) or self.auth_url
        if not url:
            raise ServiceUnavailable(UNAVAILABLE)
        return str(url).rstrip("/")


async def _keystone_call(func: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(func)
    except ks_exceptions.ClientException as exc:
        LOG.error("MetalScope cannot authenticate to Keystone: %s", exc)
        raise ServiceUnavailable(UNAVAILABLE) from exc


# -- validation (httpx) -----------------------------------------------------------------------

class TokenValidator:
    """Asks Keystone whether a caller's token is valid."""

    def __init__(self, service: ServiceCredentials, http: httpx.AsyncClient,
                 attempts: int = 3, retry_delay: float = RETRY_DELAY) -> None:
        self.service = service
        self._http = http
        self._attempts = max(1, attempts)
        self._retry_delay = retry_delay

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenValidator:
        service = ServiceCredentials.from_settings(settings)
        section = settings.keystone_authtoken
        timeout = httpx.Timeout(DEFAULT_TIMEOUT,
                                connect=section.http_connect_timeout or CONNECT_TIMEOUT)
        http = httpx.AsyncClient(verify=httpx_verify(service.session), timeout=timeout)
        return cls(service, http, section.http_request_max_retries)

    async def validate(self, token: str) -> ValidToken | None:
        """The token's identity and expiry; None when Keystone does not accept the token."""
        response = await self._ask(token)
        if response.status_code == 401:
            await self.service.invalidate()
            response = await self._ask(token)
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            LOG.error("Keystone answered %s to a token validation: %s", response.status_code,
                      response.text[:300])
            raise ServiceUnavailable(UNAVAILABLE)
        try:
            document = response.json()
        except ValueError:
            LOG.error("Keystone answered a token validation with a body that is not JSON")
            raise ServiceUnavailable(UNAVAILABLE) from None
        return parse_token(document)

    async def _ask(self, token: str) -> httpx.Response:
        url = f"{await self.service.endpoint()}/auth/tokens"
        headers = {"X-Auth-Token": await self.service.token(), "X-Subject-Token": token,
                   "Accept": "application/json"}
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._http.get(url, headers=headers, params={"nocatalog": "1"})
            except httpx.TransportError as exc:
                LOG.warning("Keystone at %s unreachable (attempt %d of %d): %s", url, attempt,
                            self._attempts, exc)
                if attempt < self._attempts:
                    await asyncio.sleep(self._retry_delay)
        raise ServiceUnavailable(UNAVAILABLE)

    async def aclose(self) -> None:
        await self._http.aclose()
