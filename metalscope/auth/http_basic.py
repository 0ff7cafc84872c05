"""``http_basic`` authentication: users from an htpasswd file with bcrypt hashes (spec 2.3).

Any authenticated user may call every route: upstream applies no policy in this mode.

bcrypt reads at most 72 bytes of a password; bcrypt 5 refuses longer ones (``ValueError``)
where earlier releases silently ignored the rest. A longer password, or a stored hash
bcrypt cannot read, is therefore a failed authentication (401, as a wrong password), with
a warning in the log, never an error of the service.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import bcrypt

from metalscope.auth.base import Identity
from metalscope.errors import ConfigurationError, InvalidRequest, NotAuthenticated

LOG = logging.getLogger(__name__)
BCRYPT_PREFIXES = ("$2y$", "$2a$", "$2b$")
#: The longest password bcrypt checks, in bytes.
BCRYPT_MAX_PASSWORD = 72


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
    challenge: ClassVar[str | None] = None

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity | None:
        """Public routes need nothing; the others any valid user (no policy, as upstream)."""
        if public:
            return None
        identity = await self.authenticate(headers.get("authorization"))
        if identity is None:
            raise NotAuthenticated()
        return identity

    async def aclose(self) -> None:
        return None

    async def authenticate(self, authorization: str | None) -> Identity | None:
        if not authorization:
            return None
        user, password = parse_basic(authorization)
        digest = self.users.get(user)
        if digest is None:
            return None
        key = hashlib.sha256(b"\0".join([user.encode(), password.encode(), digest])).hexdigest()
        if key not in self._verified:
            if not await asyncio.to_thread(password_matches, user, password.encode(), digest):
                return None
            self._verified.add(key)
        return Identity(user, ("admin",))


def password_matches(user: str, password: bytes, digest: bytes) -> bool:
    """Whether ``password`` is the one ``digest`` was made from. False, with a warning,
    when bcrypt cannot check it: a password over 72 bytes or a malformed stored hash."""
    if len(password) > BCRYPT_MAX_PASSWORD:
        LOG.warning("Authentication of user %s refused: the password is longer than the %d "
                    "bytes bcrypt can check", user, BCRYPT_MAX_PASSWORD)
        return False
    try:
        return bool(bcrypt.checkpw(password, digest))
    except ValueError as exc:
        LOG.warning("Authentication of user %s refused: bcrypt cannot check the stored hash "
                    "(%s)", user, exc)
        return False

