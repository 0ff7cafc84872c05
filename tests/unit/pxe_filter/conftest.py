"""PXE filter fixtures: a real SQLite repository, an Ironic that lists ports, a command runner
that records argv, and helpers that start and end introspections in the database."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from metalscope.errors import IronicError
from metalscope.metrics import Metrics
from metalscope.pxe_filter.processes import Completed
from metalscope.settings import Settings, load_settings
from tests.factories import end_introspection, start_introspection  # noqa: F401 (shared)


class PortsIronic:
    """Just ``list_ports``: the only Ironic call a full sync makes (and the metrics the
    filter counts in, as the real client's)."""

    def __init__(self, macs: Sequence[str] = ()) -> None:
        self.metrics = Metrics()
        self.ports: list[dict[str, Any]] = [{"address": m, "extra": {}} for m in macs]
        self.fail = False
        self.calls: list[list[str] | None] = []

    def set_macs(self, macs: Sequence[str]) -> None:
        self.ports = [{"address": m, "extra": {}} for m in macs]

    async def list_ports(self, fields: Sequence[str] | None = None) -> list[dict[str, Any]]:
        self.calls.append(list(fields) if fields else None)
        if self.fail:
            raise IronicError("Cannot reach Ironic: connection refused")
        return [dict(p) for p in self.ports]


Predicate = Callable[[list[str]], bool]
Answer = Completed | Callable[[list[str]], Completed]


class FakeRunner:
    """Records every command; answers from ``responses`` (first matching argv prefix wins)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], str | None]] = []
        self.responses: list[tuple[Predicate, Answer]] = []

    def on(self, predicate: Predicate, result: Answer) -> None:
        self.responses.insert(0, (predicate, result))

    async def __call__(self, argv: Sequence[str], stdin: bytes | None = None) -> Completed:
        args = list(argv)
        self.calls.append((args, stdin.decode() if stdin is not None else None))
        for predicate, result in self.responses:
            if predicate(args):
                return result(args) if callable(result) else result
        return Completed(tuple(args), 0)

    @property
    def argvs(self) -> list[list[str]]:
        return [argv for argv, _ in self.calls]

    def clear(self) -> None:
        self.calls.clear()


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


def filter_settings(**sections: dict[str, Any]) -> Settings:
    """Settings with ``full_sync_period = 0`` unless given: a reconcile then lists every
    Ironic port, which the tests of what a sync writes rely on (the rounds that read only
    changes are tested in test_rounds.py)."""
    pxe_filter = {"full_sync_period": 0, **sections.get("pxe_filter", {})}
    return load_settings(overrides={**sections, "pxe_filter": pxe_filter})
