"""The life cycle shared by the dnsmasq and iptables filters (spec 8.3, 8.4).

A :class:`DiffFilter` keeps the state its backend applied in memory. ``allow``/``deny`` look
only at the MACs they are given (plus everything when the unknown-MAC verdict flips);
``reconcile`` recomputes the whole desired state from the database and Ironic's ports and
applies the difference. Operations are serialised by one lock. Ironic's ports are kept in
memory (:class:`~metalscope.pxe_filter.ironic_ports.IronicPorts`): the first reconcile walks
them all, later ones read only what changed and a share of a rolling walk
(``[pxe_filter]full_sync_period``; 0 lists every port at every reconcile).

Quirk Q-PXE-1 fixed: a failure marks the backend for re-initialisation and the next call
re-opens it (re-reading what is actually applied) instead of failing until a restart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any, Protocol

from metalscope.errors import IronicError
from metalscope.ironic_walks import FEED_OVERLAP
from metalscope.metrics import Metrics
from metalscope.pxe_filter.inputs import (
    filter_inputs,
    list_ironic_macs,
    read_activity,
)
from metalscope.pxe_filter.ironic_ports import IronicPorts
from metalscope.pxe_filter.policy import (
    Changes,
    DesiredState,
    FilterState,
    Layout,
    desired_state,
    plan,
)
from metalscope.pxe_filter.spec import PXEFilterError
from metalscope.settings import Settings
from metalscope.storage.repository import Repository

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)


class Backend(Protocol):
    """Applies changes to one DHCP filtering mechanism and remembers what it applied."""

    name: str
    layout: Layout
    #: What is applied right now, as far as the backend knows.
    state: FilterState

    async def open(self, initial: bool) -> None:
        """Prepare the mechanism and load ``state`` from it (``initial``: at service start)."""

    async def verify(self) -> None:
        """Cheaply check that ``state`` still matches reality, repairing ``state`` if not."""

    async def apply(self, changes: Changes, desired: DesiredState) -> None:
        """Apply ``changes`` and record them in ``state``."""

    async def launch(self) -> None:
        """After the first sync at start-up (dnsmasq: the start command)."""

    async def close(self) -> None:
        """Service shutdown."""


class DiffFilter:
    """A PXE filter that applies only the difference between desired and applied state."""

    def __init__(self, backend: Backend, settings: Settings, repo: Repository,
                 ironic: IronicClient, metrics: Metrics | None = None, *,
                 clock: Callable[[], float] = time.monotonic,
                 feed_overlap: float = FEED_OVERLAP) -> None:
        self.backend = backend
        #: Where full syncs are timed and the verdicts counted.
        self.metrics = metrics or Metrics()
        self._settings = settings
        self._repo = repo
        self._ironic = ironic
        self._lock = asyncio.Lock()
        self._ready = False
        #: Ironic MACs as of the last full sync, plus those seen by allow/deny since.
        self._ironic_macs: set[str] = set()
        self._ethoib: dict[str, str] = {}
        self._full_sync_period = settings.pxe_filter.full_sync_period
        #: Ironic's ports, as the last reconcile read them.
        self.ports = IronicPorts(ironic, self._full_sync_period, clock=clock,
                                 overlap=feed_overlap)
        self._reading = asyncio.Lock()
        self._clock = clock
        #: What the last whole reconcile applied, and when: a round with the same inputs
        #: has nothing to change (until ``full_sync_period`` has passed, when everything is
        #: planned again whatever happened); allow/deny and failures clear it.
        self._settled: tuple[object, ...] | None = None
        self._settled_at = 0.0

    async def start(self) -> None:
        async with self._lock:
            await self.backend.open(initial=True)
            self._ready = True
        try:
            await self.reconcile()
        except PXEFilterError as exc:
            LOG.error("First PXE filter sync failed, retrying at the next sync: %s", exc)
        await self.backend.launch()

    async def allow(self, macs: set[str]) -> None:
        await self._update(macs, starting=True)

    async def deny(self, macs: set[str]) -> None:
        try:
            await self._update(macs, starting=False)
        except PXEFilterError as exc:
            LOG.warning("%s; the next sync closes the filter for %s", exc, ", ".join(sorted(macs)))
        except Exception:
            LOG.exception("Could not close the PXE filter for %s; the next sync will",
                          ", ".join(sorted(macs)))

    async def reconcile(self) -> None:
        with self.metrics.pxe_filter_sync_timer():
            await self._reconcile()

    async def _reconcile(self) -> None:
        try:
            read = await self._read_ironic()
        except IronicError as exc:
            LOG.warning("PXE filter sync skipped, cannot list Ironic ports: %s", exc)
            return
        if read is None:
            LOG.warning("PXE filter sync skipped, Ironic's ports are not all read yet")
            return
        ironic_macs, ethoib = read
        # The database is read under the lock: an allow/deny that ran while Ironic answered
        # is then seen here, and not undone with an older picture.
        async with self._lock:
            active, busy = await read_activity(self._repo, ethoib)
            inputs = (ironic_macs, ethoib, active, busy,  # and the settings read (reloadable)
                      bool(self._settings.processing.node_not_found_hook),
                      self._settings.pxe_filter.deny_unknown_macs)
            if self._unchanged(inputs) and await self._still_applied():
                # An idle round: the same inputs give the same verdicts, still in place.
                return
            self._ironic_macs, self._ethoib = set(ironic_macs), ethoib
            desired = desired_state(filter_inputs(self._settings, ironic_macs, active, busy))
            await self._guarded(self._sync_all, desired)
            self._settled, self._settled_at = inputs, self._clock()
            self.metrics.pxe_filter_macs(len(desired.allow), len(desired.deny))

    async def _still_applied(self) -> bool:
        """Verify the backend (which adopts what it actually holds, e.g. a chain edited by
        hand); whether it still holds what the last sync applied."""
        state = self.backend.state
        before = FilterState(dict(state.entries), state.unknown)
        await self._guarded(self.backend.verify)
        return self.backend.state == before

    def _unchanged(self, inputs: tuple[object, ...]) -> bool:
        """Whether the last whole reconcile applied these very inputs, recently enough.
        The MAC set is the same object while no port changed, so the check is cheap."""
        if self._settled is None or not self._ready or self._full_sync_period <= 0:
            return False
        if self._clock() - self._settled_at >= self._full_sync_period:
            return False
        return self._settled == inputs

    async def _read_ironic(self) -> tuple[frozenset[str], dict[str, str]] | None:
        """Ironic's MACs and the InfiniBand mapping; None until every port was read once."""
        if self._full_sync_period <= 0:
            return await list_ironic_macs(self._settings, self._ironic)
        async with self._reading:
            await self.ports.refresh()
            if not self.ports.complete:
                return None
            return self.ports.macs(self._settings)

    async def stop(self) -> None:
        async with self._lock:
            self._ready = False
            await self.backend.close()

    async def _update(self, macs: Iterable[str], starting: bool) -> None:
        async with self._lock:
            self._settled = None
            touched = {self._map(m) for m in macs}
            active, busy = await read_activity(self._repo, self._ethoib, starting)
            self._ironic_macs |= touched
            desired = desired_state(filter_inputs(self._settings, self._ironic_macs, active,
                                                  busy))
            await self._guarded(self._sync_some, desired, touched)

    def _map(self, mac: str) -> str:
        mac = mac.lower()
        return self._ethoib.get(mac, mac)

    async def _guarded(self, step: Callable[..., Awaitable[None]], *args: Any) -> None:
        """Run ``step`` on an open backend; any failure marks it for re-initialisation."""
        try:
            if not self._ready:
                LOG.info("Re-initialising the %s PXE filter", self.backend.name)
                await self.backend.open(initial=False)
                self._ready = True
            await step(*args)
        except Exception as exc:
            self._ready = False
            self._settled = None
            raise PXEFilterError(f"The {self.backend.name} PXE filter failed and will be "
                                 f"re-initialised at its next use: {exc}") from exc

    async def _sync_all(self, desired: DesiredState) -> None:
        await self.backend.verify()
        await self.backend.apply(plan(desired, self.backend.state, self.backend.layout), desired)

    async def _sync_some(self, desired: DesiredState, touched: set[str]) -> None:
        flips = desired.unknown is not self.backend.state.unknown
        changes = plan(desired, self.backend.state, self.backend.layout,
                       None if flips else touched)
        await self.backend.apply(changes, desired)


def diff_filter(backend: Callable[[Settings], Backend], settings: Settings,
                repo: Repository | None, ironic: IronicClient | None) -> DiffFilter:
    """A driver's filter over the backend it builds from the settings.

    The repository and Ironic are required: the filter reads both to decide. It counts in
    the metrics of the Ironic client (the instance's one :class:`Metrics`).
    """
    if repo is None or ironic is None:
        raise ValueError(f"the {settings.pxe_filter.driver} PXE filter needs the repository "
                         "and the Ironic client")
    return DiffFilter(backend(settings), settings, repo, ironic, ironic.metrics)
