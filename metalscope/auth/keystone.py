"""``keystone`` access control: Keystone tokens plus oslo.policy rules (spec 2.3).

Per request, as upstream's keystonemiddleware in "delay auth decision" mode followed by its
policy check:

1. the ``X-Auth-Token`` header is validated (cached, see :mod:`metalscope.auth.token_cache`);
   a missing or invalid token leaves the caller anonymous;
2. an anonymous caller of a non-public route gets 401 ``Authentication required`` (with a
   ``WWW-Authenticate: Keystone uri="..."`` header, as keystonemiddleware adds);
3. the route's rule is evaluated with the token's roles and scope plus ``is_public_api``;
   a refusal is 403 ``Access denied by policy``.

Concurrent requests carrying the same uncached token share one validation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from metalscope.auth.base import Identity
from metalscope.auth.keystone_tokens import TokenValidator, ValidToken
from metalscope.auth.token_cache import TokenCache
from metalscope.errors import AccessDenied, NotAuthenticated, ServiceUnavailable
from metalscope.policy import PolicyEnforcer
from metalscope.settings import Settings

LOG = logging.getLogger(__name__)

#: Longer tokens are refused without asking Keystone (fernet and JWS tokens are far shorter).
MAX_TOKEN_LENGTH = 8192


def plausible_token(token: str) -> bool:
    """Whether ``token`` could be a Keystone token at all: printable ASCII, bounded length."""
    return len(token) <= MAX_TOKEN_LENGTH and token.isascii() and token.isprintable()


class Validator(Protocol):
    async def validate(self, token: str) -> ValidToken | None: ...

    async def aclose(self) -> None: ...


class Policy(Protocol):
    def allows(self, rule: str, credentials: Mapping[str, Any]) -> bool: ...


class KeystoneAccess:
    """Token validation with a cache in front, then the policy decision."""

    def __init__(self, validator: Validator, policy: Policy, cache: TokenCache,
                 challenge: str | None = None) -> None:
        self.validator = validator
        self.policy = policy
        self.cache = cache
        self.challenge = challenge
        self._pending: dict[str, asyncio.Task[Identity | None]] = {}

    @classmethod
    def from_settings(cls, settings: Settings) -> KeystoneAccess:
        section = settings.keystone_authtoken
        validator = TokenValidator.from_settings(settings)
        uri = section.www_authenticate_uri or validator.service.auth_url
        return cls(validator, PolicyEnforcer(settings),
                   TokenCache(section.token_cache_time, section.token_cache_size),
                   f'Keystone uri="{uri}"' if uri else None)

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity | None:
        identity = await self._caller(headers.get("x-auth-token"), public)
        if identity is None and not public:
            raise NotAuthenticated()
        credentials = identity.policy_values() if identity else {"roles": []}
        if not self.policy.allows(rule, {**credentials, "is_public_api": public}):
            raise AccessDenied()
        return identity

    async def _caller(self, token: str | None, public: bool) -> Identity | None:
        if not token:
            return None
        try:
            return await self.identity(token)
        except ServiceUnavailable:
            if public:
                # The ramdisk's callback must not depend on Keystone being up.
                return None
            raise

    async def identity(self, token: str) -> Identity | None:
        """The identity behind ``token`` (None if invalid), from the cache or Keystone."""
        if not plausible_token(token):
            return None
        cached = self.cache.get(token)
        if cached is not None:
            return cached.identity
        key = self.cache.key(token)
        task = self._pending.get(key)
        if task is None:
            # A task of its own: a caller that goes away does not cancel the others' answer.
            task = asyncio.get_running_loop().create_task(self._validate(token))
            self._pending[key] = task
            task.add_done_callback(lambda done: self._settled(key, done))
        return await asyncio.shield(task)

    def _settled(self, key: str, task: asyncio.Task[Identity | None]) -> None:
        self._pending.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every caller went away

    async def _validate(self, token: str) -> Identity | None:
        valid = await self.validator.validate(token)
        if valid is None:
            self.cache.put(token, None)
            return None
        lifetime = None
        if valid.expires_at is not None:
            lifetime = (valid.expires_at - datetime.now(UTC)).total_seconds()
        self.cache.put(token, valid.identity, lifetime)
        return valid.identity

    async def aclose(self) -> None:
        await self.validator.aclose()
