"""What a failure of Ironic means for the follower, and how long to wait, pure.

A failure of Ironic itself (no answer, 502/503/504) or of the credentials (401, 403)
stops the poll: nothing is marked failed, the next poll waits longer (doubling from the
poll interval up to ``max_backoff``). A failure of one node's inventory is that node's:
it waits alone, the others go on. Ironic answers 404 both for a node it no longer has and
for an inventory it does not keep (``[inventory]data_backend = none``, or an inspection
that stored none); the message tells which.
"""

from __future__ import annotations

from metalscope.errors import IronicError

#: Attempts at an inventory Ironic answers 404 for before that inspection is given up.
MISSING_ATTEMPTS = 5
_IRONIC_DOWN = frozenset({502, 503, 504})


def poll_failure(exc: IronicError) -> str | None:
    """The poll result (metric label) when ``exc`` must stop the whole poll, else None."""
    if exc.status is None or exc.status in _IRONIC_DOWN:
        return "unreachable"
    if exc.status == 401:
        return "unauthorized"
    if exc.status == 403:
        return "forbidden"
    return None


def inventory_missing(exc: IronicError) -> bool:
    """Ironic has the node but no inventory of it."""
    return exc.status == 404 and "inventory" in str(exc).lower()


def node_gone(exc: IronicError) -> bool:
    """Ironic no longer has the node."""
    return exc.status == 404 and not inventory_missing(exc)


def delay(failures: int, base: float, cap: float) -> float:
    """Seconds to wait after ``failures`` failures in a row: ``base`` doubled each time,
    at most ``cap``."""
    if failures <= 0:
        return base
    return float(min(cap, base * 2 ** min(failures - 1, 32)))


def explain(result: str, exc: IronicError) -> str:
    """One log line for a stopped poll."""
    if result == "unauthorized":
        return ("Following Ironic: Ironic refused the credentials of the [ironic] section "
                f"(401): {exc}")
    if result == "forbidden":
        return ("Following Ironic: Ironic forbids listing nodes or reading inventories to "
                "the [ironic] user (403; it needs baremetal:node:list and "
                f"baremetal:node:inventory:get): {exc}")
    return f"Following Ironic: Ironic is unreachable: {exc}"
