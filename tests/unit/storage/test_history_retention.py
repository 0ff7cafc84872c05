"""Which versions retention deletes (pure decisions), and the [history] options."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

from metalscope import background
from metalscope.settings.loader import load_settings
from metalscope.storage.history import Retention, VersionKey, beyond_age, beyond_count
from metalscope.storage.repository import Repository, utcnow
from metalscope.wiring import history_retention

NOW = datetime.datetime(2026, 12, 6)


def key(id_: int, uuid: str, version: int, days_old: int) -> VersionKey:
    return VersionKey(id_, uuid, version, NOW - datetime.timedelta(days=days_old))


KEYS = [key(1, "a", 1, 50), key(2, "a", 2, 40), key(3, "a", 3, 30), key(4, "b", 1, 20),
        key(5, "b", 2, 1)]


def test_count_keeps_the_newest_per_node() -> None:
    assert sorted(beyond_count(KEYS, 2)) == [1]
    assert sorted(beyond_count(KEYS, 1)) == [1, 2, 4]
    assert beyond_count(KEYS, 0) == []


def test_age_spares_the_newest_version_of_known_nodes_only() -> None:
    threshold = NOW - datetime.timedelta(days=25)
    assert sorted(beyond_age(KEYS, threshold, known={"a", "b"})) == [1, 2]
    assert sorted(beyond_age(KEYS, threshold, known=set())) == [1, 2, 3]
    assert beyond_age(KEYS, None, known=set()) == []


def test_retention_from_options() -> None:
    assert Retention.of(10, 365) == Retention(10, datetime.timedelta(days=365))
    assert Retention.of(0, 0) == Retention(0, None)


def test_history_options_defaults_and_wiring() -> None:
    settings = load_settings()
    assert (settings.history.enabled, settings.history.max_versions,
            settings.history.max_age) == (True, 10, 365)
    assert history_retention(settings) == Retention()
    tuned = load_settings(overrides={"history": {"max_versions": 3, "max_age": 0}})
    assert history_retention(tuned) == Retention(3, None)


class Coordinator:
    def __init__(self, leader: bool) -> None:
        self.leader = leader

    def is_leader(self) -> bool:
        return self.leader


async def test_periodic_pruning_is_leader_only(repo: Repository) -> None:
    repo.retention = Retention(max_versions=0, max_age=None)
    for _ in range(3):
        await repo.record_version("c", started_at=None, finished_at=utcnow(), source="inband",
                                  processed={}, unprocessed=None, error=None, summary=None,
                                  changed=None)
    repo.retention = Retention(max_versions=1, max_age=None)
    follower = SimpleNamespace(coordinator=Coordinator(False), repo=repo)
    assert await background.prune_history(follower) == 0  # type: ignore[arg-type]
    leader = SimpleNamespace(coordinator=Coordinator(True), repo=repo)
    assert await background.prune_history(leader) == 2  # type: ignore[arg-type]
    assert [v.version for v in await repo.list_versions("c")] == [3]


def test_the_pruning_task_runs_with_the_clean_ups() -> None:
    svc = SimpleNamespace(settings=load_settings())
    names = [name for name, _, _ in background.periodic_tasks(svc)]  # type: ignore[arg-type]
    assert "prune-history" in names
