"""``[processing]store_data = swift``: introspection data as Swift objects (spec 9.1).

The objects are upstream's: ``inspector_data-<uuid>`` (processed) and
``inspector_data-<uuid>-UNPROCESSED`` in ``[swift]container`` (default ``ironic-inspector``),
JSON as upstream writes it, without the ramdisk ``logs``; so data stored by ironic-inspector is
served as it is, and the other way round. The container is created (PUT) before each save, as
upstream does; with ``[swift]delete_after`` above 0 each object gets ``X-Delete-After``.
(Upstream 12.5.0 means to send that header, but its object store client drops it.)

Every failure is a 400-class :class:`~metalscope.errors.ObjectStorageError` with upstream's
message. Reading an object Swift does not have is one too (:class:`ObjectMissing`), as
upstream answers it: ``Swift failed to get object ... Error was: NotFoundException: 404 ...``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
from keystoneauth1 import exceptions as ks_exceptions

from metalscope.errors import ConfigurationError, ObjectMissing, ObjectStorageError
from metalscope.keystone_tls import httpx_verify
from metalscope.settings import Settings
from metalscope.settings.libraries import keystone_adapter
from metalscope.storage.repository import Repository
from metalscope.storage.swift_client import (
    CONNECT_TIMEOUT,
    DEFAULT_TIMEOUT,
    KeystoneAccess,
    Retries,
    SwiftClient,
    SwiftRequestFailed,
    SwiftUnreachable,
)

LOG = logging.getLogger(__name__)

OBJECT_PREFIX = "inspector_data"
UNPROCESSED_SUFFIX = "UNPROCESSED"
#: Keys of the data never stored (as upstream).
EXCLUDED_KEYS = frozenset({"logs"})


def object_name(uuid: str, processed: bool) -> str:
    """The Swift object holding a node's processed or unprocessed data."""
    name = f"{OBJECT_PREFIX}-{uuid}"
    return name if processed else f"{name}-{UNPROCESSED_SUFFIX}"


def object_text(data: dict[str, Any]) -> bytes:
    """The object's content: the data without the excluded keys, as upstream serialises it."""
    return json.dumps({k: v for k, v in data.items() if k not in EXCLUDED_KEYS}).encode()


def unreachable(exc: Exception) -> ObjectStorageError:
    return ObjectStorageError(f"Could not connect to the object storage service: {exc}")


class SwiftStore:
    """A :class:`~metalscope.storage.data_store.DataStore` on Swift."""

    enabled = True
    in_repository = False

    def __init__(self, client: SwiftClient, container: str, delete_after: int = 0) -> None:
        self.client = client
        self.container = container
        self.delete_after = delete_after

    def object_headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.delete_after > 0:
            headers["X-Delete-After"] = str(self.delete_after)
        return headers

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        name = object_name(uuid, processed)
        try:
            await self.client.put_container(self.container)
        except SwiftUnreachable as exc:
            raise unreachable(exc) from exc
        except SwiftRequestFailed as exc:
            raise ObjectStorageError(f"Swift failed to create container {self.container}. "
                                     f"Error was: {exc}") from exc
        try:
            await self.client.put_object(self.container, name, object_text(data),
                                         self.object_headers())
        except SwiftUnreachable as exc:
            raise unreachable(exc) from exc
        except SwiftRequestFailed as exc:
            raise ObjectStorageError(f"Swift failed to create object {name} in container "
                                     f"{self.container}. Error was: {exc}") from exc
        LOG.info("Introspection data of node %s stored in Swift object %s", uuid, name)

    async def get(self, uuid: str, processed: bool) -> str | None:
        name = object_name(uuid, processed)
        try:
            content = await self.client.get_object(self.container, name)
        except SwiftUnreachable as exc:
            raise unreachable(exc) from exc
        except SwiftRequestFailed as exc:
            kind = ObjectMissing if exc.status == 404 else ObjectStorageError
            raise kind(f"Swift failed to get object {name} in container {self.container}. "
                       f"Error was: {exc}") from exc
        return content.decode("utf-8", errors="replace")

    async def check(self) -> str:
        """Whether Swift answers with these credentials, without writing anything: a HEAD of
        the container. One line saying what was found; ObjectStorageError (upstream's wording
        for the connection) when Swift cannot be reached or refuses the request."""
        try:
            await self.client.head_container(self.container)
        except SwiftUnreachable as exc:
            raise unreachable(exc) from exc
        except SwiftRequestFailed as exc:
            if exc.status == 404:
                return (f"Swift answered; container {self.container} does not exist yet "
                        f"and is created at the first save")
            raise ObjectStorageError(f"Swift failed to read container {self.container}. "
                                     f"Error was: {exc}") from exc
        return f"Swift answered; container {self.container} exists"

    async def aclose(self) -> None:
        await self.client.aclose()


def swift_client(settings: Settings) -> SwiftClient:
    """A Swift client from ``[swift]``'s keystoneauth options; ConfigurationError when they
    cannot work (checked before anything starts)."""
    try:
        adapter = keystone_adapter(settings, "swift")
    except (ks_exceptions.ClientException, TypeError, ValueError) as exc:
        raise ConfigurationError(f"Invalid [swift] authentication options: {exc}") from exc
    timeout = settings.swift.timeout or DEFAULT_TIMEOUT
    http = httpx.AsyncClient(verify=httpx_verify(adapter.session),
                             timeout=httpx.Timeout(timeout, connect=min(timeout, CONNECT_TIMEOUT)))
    return SwiftClient(KeystoneAccess(adapter), http, Retries.from_adapter(adapter))


def swift_store(settings: Settings, repo: Repository) -> SwiftStore:
    return SwiftStore(swift_client(settings), settings.swift.container,
                      settings.swift.delete_after)
