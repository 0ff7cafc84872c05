"""Which coordinator an instance runs with, from ``[coordination]`` and ``[database]``.

* ``[coordination]backend_url`` set to a PostgreSQL or MariaDB/MySQL URL: session locks in
  that database (backend ``database``). Set to any other URL (``redis://``,
  ``etcd3+http://``, ...): that tooz backend (backend ``tooz``). If it cannot be reached the
  instance refuses to start, since instances that do not share locks could process one node
  twice.
* Not set, or left at upstream's default ``memcached://localhost:11211`` (which upstream
  itself only tries): session locks in the ``[database]connection`` database when it is
  PostgreSQL or MariaDB/MySQL, so instances sharing a database share their locks with no
  other service; in-process locks (backend ``local``) with SQLite, which serves a single
  instance.

The backend is then built through its entry point of ``metalscope.coordination_backends``.
The leader's lock is checked every ``[DEFAULT]leader_election_interval`` seconds (upstream's
option and default, 10).
"""

from __future__ import annotations

from metalscope.coordination.backends import COORDINATION_BACKENDS
from metalscope.coordination.base import Coordinator
from metalscope.coordination.distributed import DistributedCoordinator
from metalscope.settings import Settings
from metalscope.storage.session_locks import is_server_database

UPSTREAM_DEFAULT_URL = "memcached://localhost:11211"


def choose_backend(settings: Settings) -> tuple[str, str]:
    """The backend's entry-point name and the URL of its locks."""
    url = settings.coordination.backend_url.strip()
    if url and url != UPSTREAM_DEFAULT_URL:
        return ("database" if is_server_database(url) else "tooz"), url
    if is_server_database(settings.database.connection):
        return "database", settings.database.connection
    return "local", ""


def create_coordinator(settings: Settings, leadership: bool = True) -> Coordinator:
    """The coordinator; without ``leadership`` it never takes the leader lock, so another
    process sharing its locks leads (the API role)."""
    name, url = choose_backend(settings)
    coordinator = COORDINATION_BACKENDS.create(name, url, settings)
    if isinstance(coordinator, DistributedCoordinator):
        coordinator.campaign = leadership
    return coordinator


def describe(coordinator: Coordinator) -> str:
    """One line for the start-up log."""
    if isinstance(coordinator, DistributedCoordinator):
        return f"shared locks through {type(coordinator.shared).__name__}"
    return "in-process locks (single instance)"
