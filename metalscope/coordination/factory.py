"""Which coordinator an instance runs with, from ``[coordination]`` and ``[database]``.

* ``[coordination]backend_url`` set to a PostgreSQL or MariaDB/MySQL URL: session locks in
  that database. Set to any other URL (``redis://``, ``etcd3+http://``, ...): that tooz
  backend. If it cannot be reached the instance refuses to start, since instances that do
  not share locks could process one node twice.
* Not set, or left at upstream's default ``memcached://localhost:11211`` (which upstream
  itself only tries): session locks in the ``[database]connection`` database when it is
  PostgreSQL or MariaDB/MySQL, so instances sharing a database share their locks with no
  other service; in-process locks with SQLite, which serves a single instance.

The leader's lock is checked every ``[DEFAULT]leader_election_interval`` seconds (upstream's
option and default, 10).
"""

from __future__ import annotations

from sqlalchemy.engine import make_url

from metalscope.coordination.base import Coordinator
from metalscope.coordination.distributed import DistributedCoordinator
from metalscope.coordination.local import LocalCoordinator
from metalscope.settings import Settings

UPSTREAM_DEFAULT_URL = "memcached://localhost:11211"
SERVER_DATABASES = ("postgresql", "mysql", "mariadb")


def is_database_url(url: str) -> bool:
    try:
        return make_url(url).get_backend_name() in SERVER_DATABASES
    except Exception:
        return False


def create_coordinator(settings: Settings) -> Coordinator:
    from metalscope.coordination.database import DatabaseLocks
    from metalscope.coordination.tooz_backend import ToozLocks, member_id

    url = settings.coordination.backend_url.strip()
    interval = settings.default.leader_election_interval
    if url and url != UPSTREAM_DEFAULT_URL:
        shared = (DatabaseLocks(url) if is_database_url(url)
                  else ToozLocks(url, member=member_id(settings.default.host)))
        return DistributedCoordinator(shared, leader_interval=interval)
    if is_database_url(settings.database.connection):
        return DistributedCoordinator(DatabaseLocks(settings.database.connection),
                                      leader_interval=interval)
    return LocalCoordinator()


def describe(coordinator: Coordinator) -> str:
    """One line for the start-up log."""
    if isinstance(coordinator, DistributedCoordinator):
        return f"shared locks through {type(coordinator.shared).__name__}"
    return "in-process locks (single instance)"
