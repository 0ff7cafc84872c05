"""Recognising a callback taken already, by the digest of its body.

A ramdisk that got no answer posts the very same bytes again, to this instance or another.
The digest of the body that started a node's processing is recorded with it, so a copy is
recognised on any instance:

* the node finished from it within ``[processing]ramdisk_retry_window`` seconds: the copy
  is answered as the first one was (:class:`Repeated`); later it gets upstream's lookup
  failure;
* the node is still ``processing`` from it although its lock was free: the instance that
  took the first copy stopped half-way, and processing resumes from this copy
  (:func:`is_resumed`).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from metalscope.services import Services
from metalscope.state_machine import State
from metalscope.storage.repository import NodeRecord, utcnow


@dataclass(frozen=True)
class Repeated:
    """The callback's very body was processed to the end already: ``record`` is its node."""

    record: NodeRecord


def callback_digest(body: bytes) -> str:
    """What identifies a callback body: a ramdisk's retry sends the very same bytes."""
    return hashlib.sha256(body).hexdigest()


def retry_window_open(record: NodeRecord, window: int,
                      now: datetime.datetime | None = None) -> bool:
    """Whether a retry of the callback that finished ``record`` is still answered as that
    callback was: within ``window`` seconds (``[processing]ramdisk_retry_window``, 0 =
    never) of ``finished_at``, bounds included. Later, it gets upstream's answer."""
    if window <= 0 or record.finished_at is None:
        return False
    elapsed = (now or utcnow()) - record.finished_at
    return elapsed <= datetime.timedelta(seconds=window)


async def repeat_of(svc: Services, record: NodeRecord, digest: str | None) -> Repeated | None:
    """A Repeated when ``digest`` is that of the callback that finished ``record`` and the
    retry window is still open."""
    if digest is None or not _answered_again(svc, record):
        return None
    return Repeated(record) if await svc.repo.callback_node(digest) == record.uuid else None


async def repeat_by_digest(svc: Services, digest: str | None) -> Repeated | None:
    """A Repeated when a node finished from a body with this ``digest`` within the retry
    window (data that no longer finds a node, since its lookup attributes are gone)."""
    uuid = None if digest is None else await svc.repo.callback_node(digest)
    record = None if uuid is None else await svc.repo.get_node(uuid)
    return Repeated(record) if record is not None and _answered_again(svc, record) else None


async def is_resumed(svc: Services, record: NodeRecord, digest: str | None) -> bool:
    """Whether this body started the processing ``record`` is still in: called with the
    node's lock held, so the instance that took the first copy is gone."""
    return (record.state is State.PROCESSING and digest is not None
            and await svc.repo.callback_node(digest) == record.uuid)


def _answered_again(svc: Services, record: NodeRecord) -> bool:
    return record.finished and retry_window_open(record,
                                                 svc.settings.processing.ramdisk_retry_window)
