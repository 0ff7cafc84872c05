"""Requests to Ironic that went out and got no answer: were they applied?

A PATCH or POST whose answer is lost (it timed out, or the connection closed after the
request left) may or may not have been applied by Ironic, and sending it blindly again is
not harmless: a ``remove`` already applied fails the second time (400), a port already
created answers 409. So the resource is read back first. If it already shows the change,
the change is done and what was read is the answer; if not, the request is sent again. When
Ironic cannot be reached to find out, the reading fails with ``IronicError`` status None
(unreachable), as any request to an unreachable Ironic does.

:func:`patch_applied` and :func:`port_of_node` decide; :func:`reconciled` runs the exchange.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping
from typing import Any, TypeVar

from metalscope.errors import IronicError, IronicNoAnswer
from metalscope.json_patch import apply_patch

LOG = logging.getLogger(__name__)

T = TypeVar("T")
JSON = dict[str, Any]


def patch_applied(doc: Mapping[str, Any], ops: Iterable[Mapping[str, Any]]) -> bool:
    """Whether ``doc`` (the resource read back) already shows every effect of ``ops``:
    each path set has its value, each removed path is absent, later ops overriding earlier
    ones. Ironic applies a patch whole or not at all, so this tells whether a PATCH whose
    answer was lost went through. A value Ironic masks on reading (a password) never
    matches, so such a patch is sent again, which sets the same value."""
    try:
        return apply_patch(doc, ops) == doc
    except ValueError:
        return False  # an operation this check cannot judge: send the patch again


def port_of_node(ports: Iterable[Mapping[str, Any]], node_uuid: str) -> JSON | None:
    """Among the ports with one MAC address, the one of ``node_uuid``, if any: a port POST
    whose answer was lost created it."""
    for port in ports:
        if port.get("node_uuid") == node_uuid:
            return dict(port)
    return None


async def reconciled(what: str, send: Callable[[], Awaitable[T]],
                     read_back: Callable[[], Awaitable[T | None]], *,
                     conflicts: Collection[int], resends: int) -> T:
    """``send()``'s answer; when it goes unanswered (IronicNoAnswer), ``read_back()`` the
    result if Ironic shows the request applied, or send again (up to ``resends`` times).

    ``read_back`` returns None when Ironic does not show the request applied; it raises
    (status None) when Ironic cannot be reached. A resend that meets one of ``conflicts``
    (a 400 for a patch, a 409 for a creation) may have met the first request, applied
    meanwhile: Ironic is read back once more before the error is believed.
    """
    try:
        return await send()
    except IronicNoAnswer as exc:
        LOG.warning("%s got no answer (%s); reading back whether Ironic applied it", what, exc)
        lost = exc
    for _ in range(resends):
        found = await read_back()
        if found is not None:
            LOG.info("%s had been applied by Ironic", what)
            return found
        LOG.info("%s had not been applied by Ironic; sending it again", what)
        try:
            return await send()
        except IronicNoAnswer as exc:
            lost = exc
        except IronicError as exc:
            if exc.status not in conflicts:
                raise
            return await _conflict(exc, read_back)
    raise IronicError(f"Cannot reach Ironic: {what} got no answer {resends + 1} times "
                      f"({lost})") from lost


async def _conflict(exc: IronicError, read_back: Callable[[], Awaitable[T | None]]) -> T:
    found = await read_back()
    if found is None:
        raise exc
    return found
