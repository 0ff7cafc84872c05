"""Per-node locks and leadership, in one process or across instances.

``base`` holds the protocol, ``local`` the in-process coordinator, ``database`` session locks
of PostgreSQL and MariaDB/MySQL, ``tooz_backend`` any tooz backend, and ``factory`` picks one
from the settings.
"""

from metalscope.coordination.base import Coordinator, NodeLock, node_lock
from metalscope.coordination.local import LocalCoordinator

__all__ = ["Coordinator", "LocalCoordinator", "NodeLock", "node_lock"]
