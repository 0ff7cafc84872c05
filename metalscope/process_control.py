"""The signals a running MetalScope process answers, as oslo.service's launcher answers them.

* SIGHUP (``systemctl reload``): the configuration files are read again
  (:class:`SettingsReloader`); the options oslo.config marks mutable take effect at once
  (logging), every other changed option is named in one line as waiting for a restart. A
  configuration that no longer loads is logged and the current one kept. Nothing stops:
  connections, requests and background work carry on.
* SIGTERM and SIGINT: the process stops (:class:`StopRequest`): it accepts nothing new,
  gives the work in flight ``[DEFAULT]graceful_shutdown_timeout`` seconds, then cancels
  what is left. A second signal stops waiting at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import Callable, Iterator

from metalscope.logging_setup import reconfigure_logging
from metalscope.settings import Settings
from metalscope.settings.changes import OptionChange, changed_options, with_mutable

LOG = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopRequest:
    """When the process was asked to stop, and how long its work in flight may still take.

    A timeout of 0 means no limit (oslo.service's meaning).
    """

    def __init__(self, timeout: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.timeout = timeout
        self._clock = clock
        self._deadline: float | None = None
        self.event = asyncio.Event()
        #: Set by a second stop signal: stop waiting for the work in flight.
        self.forced_event = asyncio.Event()

    @property
    def requested(self) -> bool:
        return self.event.is_set()

    @property
    def forced(self) -> bool:
        return self.forced_event.is_set()

    def request(self) -> None:
        if self.requested:
            self.forced_event.set()
            return
        if self.timeout > 0:
            self._deadline = self._clock() + self.timeout
        self.event.set()

    def remaining(self) -> float | None:
        """Seconds left for the work in flight (None: no limit; 0 once forced or late; the
        whole timeout while no stop was requested)."""
        if self.forced:
            return 0.0
        if self.timeout <= 0:
            return None
        if self._deadline is None:
            return float(self.timeout)
        return max(0.0, self._deadline - self._clock())

    async def wait(self) -> None:
        await self.event.wait()


def change_lines(changes: list[OptionChange]) -> list[str]:
    """One line per changed option: applied, or waiting for a restart."""
    lines = []
    for change in changes:
        if change.mutable:
            lines.append(f"Option {change.label} changed from {change.old!r} to "
                         f"{change.new!r}")
        else:
            lines.append(f"Option {change.label} changed in the configuration files; it "
                         "takes effect when the process is restarted")
    return lines


class SettingsReloader:
    """Reads the configuration again on SIGHUP and applies what may change while running.

    ``current`` is what the process started with; it stays the reference for the options
    that need a restart (they are reported again at every reload until then), while the
    mutable ones are taken from each successful reload.
    """

    def __init__(self, current: Settings, load: Callable[[], Settings],
                 apply: Callable[[Settings, Settings], None] = reconfigure_logging) -> None:
        self.current = current
        self._load = load
        self._apply = apply
        self._lock = asyncio.Lock()

    async def reload(self) -> bool:
        """Read and apply the configuration; False (and logged) when it does not load."""
        async with self._lock:
            LOG.info("Caught SIGHUP, reloading the configuration files")
            try:
                fresh = await asyncio.to_thread(self._load)
                target = with_mutable(self.current, fresh)
                self._apply(self.current, target)
            except Exception as exc:  # ConfigurationError, oslo.config's parse errors, ...
                LOG.error("The configuration was not reloaded, the current settings stay in "
                          "force: %s", _one_line(exc))
                return False
            changes = changed_options(self.current, fresh)
            for change, line in zip(changes, change_lines(changes), strict=True):
                LOG.log(logging.INFO if change.mutable else logging.WARNING, "%s", line)
            if not changes:
                LOG.info("The configuration files are unchanged")
            self.current = target
            return True


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return " ".join(text.split())


@contextlib.contextmanager
def signals_handled(loop: asyncio.AbstractEventLoop, stop: StopRequest,
                    on_stop: Callable[[], None],
                    reloader: SettingsReloader | None) -> Iterator[None]:
    """SIGTERM/SIGINT → ``stop`` (then ``on_stop``); SIGHUP → a reload, or a log line saying
    there is nothing to reload. The handlers are removed on exit (the default dispositions
    come back)."""
    tasks: set[asyncio.Task[bool]] = set()

    def stop_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        if stop.requested:
            LOG.warning("Caught %s again, no longer waiting for the work in flight", name)
        else:
            LOG.info("Caught %s, stopping (work in flight has %s)", name, _bound(stop))
        stop.request()
        on_stop()

    def hangup() -> None:
        if reloader is None:
            LOG.warning("Caught SIGHUP; this process has no configuration files to reload")
            return
        task = loop.create_task(reloader.reload(), name="reload-settings")
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, stop_signal, signum)
    loop.add_signal_handler(signal.SIGHUP, hangup)
    try:
        yield
    finally:
        for signum in (*STOP_SIGNALS, signal.SIGHUP):
            loop.remove_signal_handler(signum)


def _bound(stop: StopRequest) -> str:
    if stop.timeout <= 0:
        return "no time limit ([DEFAULT]graceful_shutdown_timeout = 0)"
    return f"{stop.timeout:g} s to finish ([DEFAULT]graceful_shutdown_timeout)"
