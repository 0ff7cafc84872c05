"""TokenCache: bounded in time and size, negative answers included, no raw tokens kept."""

from __future__ import annotations

from metalscope.auth.base import Identity
from metalscope.auth.token_cache import TokenCache

ALICE = Identity("alice", ("admin",))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_remembers_for_ttl() -> None:
    """An entry answers until ttl seconds have passed, then it is gone."""
    clock = Clock()
    cache = TokenCache(ttl=300, clock=clock)
    cache.put("tok", ALICE)
    clock.now += 299
    hit = cache.get("tok")
    assert hit is not None and hit.identity == ALICE
    clock.now += 1
    assert cache.get("tok") is None and len(cache) == 0


def test_token_expiry_shortens_the_lifetime() -> None:
    """A token expiring before ttl is forgotten at its expiry."""
    clock = Clock()
    cache = TokenCache(ttl=300, clock=clock)
    cache.put("tok", ALICE, lifetime=10)
    clock.now += 10
    assert cache.get("tok") is None


def test_already_expired_is_not_stored() -> None:
    cache = TokenCache(ttl=300)
    cache.put("tok", ALICE, lifetime=-5)
    assert len(cache) == 0


def test_invalid_tokens_are_remembered() -> None:
    """A rejected token is cached as such (None identity), distinct from an unknown one."""
    cache = TokenCache(ttl=300)
    cache.put("bad", None)
    hit = cache.get("bad")
    assert hit is not None and hit.identity is None
    assert cache.get("unknown") is None


def test_size_is_bounded_least_recently_used_first() -> None:
    """Past max_size the least recently used entry goes."""
    cache = TokenCache(ttl=300, max_size=2)
    cache.put("a", ALICE)
    cache.put("b", ALICE)
    assert cache.get("a") is not None  # "b" is now the least recently used
    cache.put("c", ALICE)
    assert len(cache) == 2
    assert cache.get("b") is None
    assert cache.get("a") is not None and cache.get("c") is not None


def test_disabled_with_non_positive_ttl() -> None:
    """token_cache_time = -1 (or 0) disables caching, as keystonemiddleware."""
    for ttl in (0, -1):
        cache = TokenCache(ttl=ttl)
        cache.put("tok", ALICE)
        assert cache.get("tok") is None


def test_keys_are_digests() -> None:
    """The cache never holds the token itself."""
    cache = TokenCache(ttl=300)
    cache.put("secret-token-value", ALICE)
    assert all("secret-token-value" not in key for key in cache._entries)
    assert TokenCache.key("secret-token-value") in cache._entries
