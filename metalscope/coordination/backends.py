"""The built-in coordination backends, as registered under ``metalscope.coordination_backends``.

A backend is a factory called as ``factory(url, settings)`` that returns a
:class:`~metalscope.coordination.base.Coordinator`: ``url`` is where its locks live (empty
for ``local``). Which backend runs is decided by :mod:`metalscope.coordination.factory` from
``[coordination]backend_url`` and ``[database]connection``.
"""

from __future__ import annotations

from metalscope.coordination.base import Coordinator
from metalscope.coordination.distributed import DistributedCoordinator
from metalscope.coordination.local import LocalCoordinator
from metalscope.coordination.tooz_backend import ToozLocks, member_id
from metalscope.plugin_group import PluginGroup
from metalscope.settings import Settings
from metalscope.storage.session_locks import DatabaseLocks

COORDINATION_BACKENDS: PluginGroup[Coordinator] = PluginGroup(
    "metalscope.coordination_backends", "Coordination backend", Coordinator)


def local(url: str, settings: Settings) -> LocalCoordinator:
    """In-process locks: a single instance."""
    return LocalCoordinator()


def database(url: str, settings: Settings) -> DistributedCoordinator:
    """Session locks in the PostgreSQL or MariaDB/MySQL database at ``url``."""
    return DistributedCoordinator(DatabaseLocks(url),
                                  leader_interval=settings.default.leader_election_interval)


def tooz(url: str, settings: Settings) -> DistributedCoordinator:
    """Locks on the tooz backend at ``url`` (Redis, etcd, ...)."""
    return DistributedCoordinator(ToozLocks(url, member=member_id(settings.default.host)),
                                  leader_interval=settings.default.leader_election_interval)
