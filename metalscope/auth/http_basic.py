"""Authentication of API callers: ``noauth`` and ``http_basic`` (spec 2.3).

An :class:`Authenticator` turns request headers into an :class:`Identity` (or None for an
unauthenticated caller); the HTTP layer decides what a route requires. No web framework here.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import bcrypt

from metalscope.errors import ConfigurationError, InvalidRequest
from metalscope.settings import Settings

BCRYPT_PREFIXES = ("$2y$", "$2a$", "$2b$")


@dataclass(frozen=True)
class Identity:
    user: str
    roles: tuple[str, ...] = ()


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None) -> Identity | None:
        """The caller's identity, None when unauthenticated; InvalidRequest when malformed."""


class NoAuth:
    """``noauth``: every caller is trusted."""

    async def authenticate(self, authorization: str | None) -> Identity | None:
        return Identity("anonymous", ("admin",))


def load_htpasswd(path: str) -> dict[str, bytes]:
    """Users and bcrypt hashes of an Apache htpasswd file; anything else is refused."""
    try:
        lines = Path(path).read_text().splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(
            f"Invalid configuration file. Problem reading auth user file: {path}") from exc
    users: dict[str, bytes] = {}
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        user, _, digest = line.strip().partition(":")
        if not digest.startswith(BCRYPT_PREFIXES):
            raise ConfigurationError("Invalid configuration file. Only bcrypt digested passwords "
                                     f"are supported for {user}")
        users[user] = digest.encode()
    return users


def parse_basic(authorization: str) -> tuple[str, str]:
    """User and password of a ``Basic`` header; malformed headers are a 400 (Q-API-6)."""
    parts = authorization.split()
    if len(parts) != 2:
        raise InvalidRequest("Could not parse Authorization header")
    scheme, token = parts
    if scheme.lower() != "basic":
        raise InvalidRequest(f'Unsupported authorization type "{scheme}"')
    try:
        decoded = base64.b64decode(token, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise InvalidRequest("Could not decode authorization token") from None
    if ":" not in decoded:
        raise InvalidRequest("Could not decode authorization token")
    user, _, password = decoded.partition(":")
    return user, password


@dataclass
class HttpBasicAuth:
    """``http_basic``: users from an htpasswd file with bcrypt hashes.

    bcrypt is slow by design, so a successful check is remembered (by a SHA-256 of the user,
    password and stored hash) and later requests with the same credentials skip it.
    """

    users: dict[str, bytes]
    _verified: set[str] = field(default_factory=set)

    async def authenticate(self, authorization: str | None) -> Identity | None:
        if not authorization:
            return None
        user, password = parse_basic(authorization)
        digest = self.users.get(user)
        if digest is None:
            return None
        key = hashlib.sha256(b"\0".join([user.encode(), password.encode(), digest])).hexdigest()
        if key not in self._verified:
            if not await asyncio.to_thread(bcrypt.checkpw, password.encode(), digest):
                return None
            self._verified.add(key)
        return Identity(user, ("admin",))


def create_authenticator(settings: Settings) -> Authenticator:
    strategy = settings.default.auth_strategy
    if strategy == "noauth":
        return NoAuth()
    if strategy == "http_basic":
        return HttpBasicAuth(load_htpasswd(settings.default.http_basic_auth_user_file))
    raise ConfigurationError(
        f"[DEFAULT]auth_strategy = {strategy} is not available in this version of MetalScope; "
        "use http_basic or noauth")
