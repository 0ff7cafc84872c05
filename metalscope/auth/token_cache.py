"""TokenCache: validation results of Keystone tokens, kept for a bounded time and number.

Both answers are remembered: the identity of a valid token and the rejection of an invalid
one, so a client retrying with a bad token does not reach Keystone each time. An entry lives
``ttl`` seconds (``[keystone_authtoken]token_cache_time``, as keystonemiddleware) and never
beyond the token's own expiry; a revoked token therefore keeps working for at most ``ttl``
seconds, as upstream. Keys are SHA-256 digests: the cache holds no usable token.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from metalscope.auth.base import Identity


@dataclass(frozen=True)
class CachedValidation:
    #: None for a token Keystone rejected.
    identity: Identity | None
    expires: float


class TokenCache:
    """Least-recently-used, time-bounded cache of token validations (``ttl <= 0`` disables it)."""

    def __init__(self, ttl: float, max_size: int = 10000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_size = max_size
        self._clock = clock
        self._entries: OrderedDict[str, CachedValidation] = OrderedDict()

    @staticmethod
    def key(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def get(self, token: str) -> CachedValidation | None:
        """The remembered validation of ``token``, None when unknown or expired."""
        key = self.key(token)
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, token: str, identity: Identity | None, lifetime: float | None = None) -> None:
        """Remember a validation for ``ttl`` seconds, or ``lifetime`` if shorter (token expiry)."""
        seconds = self.ttl if lifetime is None else min(self.ttl, lifetime)
        if seconds <= 0:
            return
        key = self.key(token)
        self._entries[key] = CachedValidation(identity, self._clock() + seconds)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
