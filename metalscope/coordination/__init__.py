"""Per-node locks and leadership, in one process or across instances.

``base`` holds the protocols, ``held`` the ownership of a taken lock (``async with``, hand-off
to a background task), ``local`` the in-process coordinator, ``distributed`` locks and
leadership over any shared lock service (PostgreSQL and MariaDB/MySQL session locks from
``metalscope.storage.session_locks``, or ``tooz_backend``), ``backends`` the entry points
naming them, and ``factory`` picks one from the settings.
"""

from metalscope.coordination.base import Coordinator, NodeLock
from metalscope.coordination.held import HeldLock, HeldNode, LockNotHeld, take_lock
from metalscope.coordination.local import LocalCoordinator

__all__ = ["Coordinator", "HeldLock", "HeldNode", "LocalCoordinator", "LockNotHeld", "NodeLock",
           "take_lock"]
