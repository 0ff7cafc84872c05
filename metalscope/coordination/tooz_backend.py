"""Shared locks from a tooz backend (Redis, etcd, ZooKeeper, memcached, ...).

tooz is a blocking library: every call runs on a small thread pool of its own, and only
non-blocking acquisitions are used, so no thread ever waits for a lock. The tooz
coordinator runs its heartbeat thread, which keeps this instance's locks alive on the
backends where locks expire (Redis, memcached, etcd); when the instance dies, they expire
after the backend's lock timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from metalscope.errors import ConfigurationError

LOG = logging.getLogger(__name__)
PREFIX = "metalscope."


def member_id(host: str | None = None) -> str:
    """This instance among the group's members: the host (``[DEFAULT]host``, upstream's
    member id) and the process, so two instances on one host stay apart."""
    return f"metalscope.{host or socket.gethostname()}.{os.getpid()}"


class ToozLocks:
    """Locks named ``metalscope.<name>`` on the tooz backend at ``url``."""

    def __init__(self, url: str, member: str | None = None, threads: int = 8,
                 start_timeout: float = 20.0) -> None:
        self.url = url
        self.start_timeout = start_timeout
        self.member = member or member_id()
        self.generation = 0
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tooz")
        self._coordinator: Any = None
        self._locks: dict[str, Any] = {}

    async def start(self) -> None:
        try:
            from tooz import coordination
        except ImportError as exc:  # an optional dependency
            raise ConfigurationError("[coordination]backend_url needs the tooz package "
                                     "(pip install 'metalscope[coordination]')") from exc
        try:
            self._coordinator = coordination.get_coordinator(self.url, self.member.encode())
            await asyncio.wait_for(_in_daemon_thread(self._coordinator.start, True),
                                   self.start_timeout)
        except TimeoutError as exc:
            raise ConfigurationError(f"Cannot start the coordination backend "
                                     f"{_redacted(self.url)}: no answer in "
                                     f"{self.start_timeout:.0f} s") from exc
        except Exception as exc:
            raise ConfigurationError(f"Cannot start the coordination backend "
                                     f"{_redacted(self.url)}: {exc}") from exc
        LOG.info("Coordination through tooz backend %s as member %s", _redacted(self.url),
                 self.member)

    async def stop(self) -> None:
        if self._coordinator is not None:
            try:
                await self._call(self._coordinator.stop)
            except Exception as exc:
                LOG.warning("Stopping the coordination backend failed: %s", exc)
            self._coordinator = None
        self._executor.shutdown(wait=False)

    async def try_lock(self, name: str) -> bool:
        lock = self._locks.get(name)
        if lock is None:
            lock = self._coordinator.get_lock((PREFIX + name).encode())
        try:
            taken = bool(await self._call(lock.acquire, False))
        except Exception as exc:
            LOG.warning("Taking lock %s on the coordination backend failed: %s", name, exc)
            return False
        if taken:
            self._locks[name] = lock
        return taken

    async def unlock(self, name: str) -> None:
        lock = self._locks.pop(name, None)
        if lock is None:
            return
        try:
            await self._call(lock.release)
        except Exception as exc:
            LOG.warning("Releasing lock %s on the coordination backend failed: %s", name, exc)

    async def alive(self) -> bool:
        """Whether the backend still holds the leader lock and the heartbeat runs."""
        lock = self._locks.get("leader")
        if lock is None:
            return True
        try:
            if await self._call(lock.is_still_owner):
                return True
        except NotImplementedError:
            return True
        except Exception as exc:
            LOG.warning("Checking the leader lock failed: %s", exc)
        self._locks.pop("leader", None)
        return False

    async def _call(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)


def _in_daemon_thread(func: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
    """Run ``func`` on a daemon thread: a backend that never answers cannot delay exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()

    def run() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (func(*args), None)
        except BaseException as exc:  # handed to the awaiting task
            outcome = (None, exc)
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody waits any more
            loop.call_soon_threadsafe(_settle, future, *outcome)

    threading.Thread(target=run, name="tooz-start", daemon=True).start()
    return future


def _settle(future: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if future.done():
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)


def _redacted(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)
