"""Reading a node's Redfish documents through sushy (synchronous: run it in a worker thread).

sushy gives the HTTP session (session authentication, else basic), retries, timeouts, the
navigation between resources and its error classes; the documents themselves are kept as the
BMC sent them (``resource.json``), since sushy models only part of their properties (no
``LinkStatus``, ``IPv4Addresses``, no Memory resource). :mod:`metalscope.redfish.inventory`
maps them to the ramdisk's format.

Only the service root and the system are required: a failure there, or an authentication
failure or lost connection anywhere, raises :class:`RedfishError`. Any other resource the BMC
does not link, or answers 404 or 5xx for, is named in :attr:`Documents.missing` (with the
reason in :attr:`Documents.unavailable` when it answered an error).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit

import sushy
from sushy import exceptions as sushy_errors

from metalscope.redfish.credentials import BmcAccess
from metalscope.redfish.errors import RedfishError

LOG = logging.getLogger(__name__)

T = TypeVar("T")
Json = dict[str, Any]

#: The optional resources, in reading order (the names :attr:`Documents.missing` uses).
OPTIONAL = ("Processors", "Memory", "Storage", "SimpleStorage", "EthernetInterfaces",
            "PCIeDevices", "Bios", "Managers")
#: At most this long to open the TCP connection (seconds), whatever the request timeout.
CONNECT_TIMEOUT = 10.0
#: A 5xx answer to a GET is tried once more, after this many seconds.
SERVER_RETRY_DELAY = 1.0


@dataclass
class Documents:
    """What the BMC answered, one entry per resource; None when it did not provide it."""

    system_path: str
    system: Json
    processors: list[Json] | None = None
    memory: list[Json] | None = None
    #: Each ``{"storage": doc, "drives": [doc...], "controllers": [doc...]}``.
    storage: list[Json] | None = None
    simple_storage: list[Json] | None = None
    ethernet: list[Json] | None = None
    #: Each ``{"device": doc, "functions": [doc...]}``.
    pcie: list[Json] | None = None
    bios: Json | None = None
    manager: Json | None = None
    missing: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)


def read_documents(access: BmcAccess, *, node: str, timeout: float) -> Documents:
    """Open one session to the BMC, read every resource inspection uses, close it."""
    connector = sushy.connector.Connector(
        access.address, verify=access.verify, server_side_retries=1,
        server_side_retries_delay=SERVER_RETRY_DELAY, default_request_timeout=timeout,
        connect_timeout=min(timeout, CONNECT_TIMEOUT))
    auth = sushy.auth.SessionOrBasicAuth(username=access.username, password=access.password)
    try:
        with failures(node, access.root_prefix):
            root = sushy.Sushy(access.address, root_prefix=access.root_prefix, auth=auth,
                               connector=connector)
        system_path = _system_path(access)
        with failures(node, system_path):
            system = root.get_system(access.system_id)
        documents = Documents(system_path=system.path, system=dict(system.json))
        _read_optional(documents, system, connector, node)
        return documents
    finally:
        _close(auth, connector)


def _system_path(access: BmcAccess) -> str:
    if access.system_id:
        return access.system_id
    return f"{access.root_prefix.rstrip('/')}/Systems"


def _close(auth: Any, connector: Any) -> None:
    try:
        auth.close()  # deletes the Redfish session, if one was opened
    except Exception as exc:  # closing must not hide the result
        LOG.debug("Closing the Redfish session failed: %s", type(exc).__name__)
    connector.close()


@contextmanager
def failures(node: str, resource: str) -> Iterator[None]:
    """sushy's exceptions as :class:`RedfishError` naming ``node`` and ``resource``."""
    try:
        yield
    except RedfishError:
        raise
    except sushy_errors.ConnectionError as exc:
        raise RedfishError(node, resource, f"the BMC is unreachable: {_cause(exc)}",
                           kind="unreachable") from None
    except sushy_errors.AccessError as exc:
        raise RedfishError(node, _path(exc, resource),
                           f"authentication failed (HTTP {exc.status_code}): check "
                           "redfish_username and redfish_password",
                           kind="authentication") from None
    except sushy_errors.ResourceNotFoundError as exc:
        raise RedfishError(node, _path(exc, resource), "not found (HTTP 404)",
                           kind="missing") from None
    except sushy_errors.UnknownDefaultError:
        raise RedfishError(node, resource, "the BMC does not manage exactly one system: set "
                           "redfish_system_id", kind="missing") from None
    except sushy_errors.HTTPError as exc:
        raise RedfishError(node, _path(exc, resource),
                           f"the BMC answered HTTP {exc.status_code}: {exc.detail or exc.code}",
                           kind="bad_answer") from None
    except (sushy_errors.SushyError, ValueError, KeyError, TypeError) as exc:
        raise RedfishError(node, resource, f"unusable answer: {type(exc).__name__}: {exc}",
                           kind="bad_answer") from None


def _path(exc: Any, default: str) -> str:
    message = str(getattr(exc, "message", "") or "")
    for word in message.split():
        if "://" in word:
            return urlsplit(word).path or default
    return default


def _cause(exc: BaseException) -> str:
    """The innermost reason of a connection failure, without the URL around it."""
    text = str(exc)
    for known in ("Connection refused", "timed out", "Name or service not known",
                  "certificate verify failed", "No route to host", "Connection reset",
                  "Temporary failure in name resolution", "Network is unreachable"):
        if known in text:
            return known
    return text.rsplit("Error: ", 1)[-1][:200]


def _read_optional(documents: Documents, system: Any, connector: Any, node: str) -> None:
    readers: dict[str, Callable[[], Any]] = {
        "Processors": lambda: _members(system.processors),
        "Memory": lambda: _memory(system, connector),
        "Storage": lambda: [_storage(s) for s in system.storage.get_members()],
        "SimpleStorage": lambda: _members(system.simple_storage),
        "EthernetInterfaces": lambda: _members(system.ethernet_interfaces),
        "PCIeDevices": lambda: _pcie(system),
        "Bios": lambda: dict(system.bios.json),
        "Managers": lambda: _manager(system),
    }
    for name in OPTIONAL:
        value = _optional(documents, name, f"{documents.system_path}/{name}", node,
                          readers[name])
        setattr(documents, _ATTRIBUTES[name], value)
    if documents.storage is not None and "SimpleStorage" in documents.missing:
        documents.missing.remove("SimpleStorage")  # the older form, not needed then


_ATTRIBUTES = {"Processors": "processors", "Memory": "memory", "Storage": "storage",
               "SimpleStorage": "simple_storage", "EthernetInterfaces": "ethernet",
               "PCIeDevices": "pcie", "Bios": "bios", "Managers": "manager"}


def _optional(documents: Documents, name: str, resource: str, node: str,
              read: Callable[[], T]) -> T | None:
    try:
        with failures(node, resource):
            try:
                return read()
            except sushy_errors.MissingAttributeError:
                pass  # not linked from the system: not provided
    except RedfishError as exc:
        if exc.kind in ("unreachable", "authentication"):
            raise
        documents.unavailable[name] = f"{exc.resource}: {exc.reason}"
        LOG.debug("Node %s: Redfish %s unavailable: %s", node, name, exc.reason)
    documents.missing.append(name)
    return None


def _members(collection: Any) -> list[Json]:
    return [dict(member.json) for member in collection.get_members()]


def _link(document: Json, key: str) -> str | None:
    value = document.get(key)
    return value.get("@odata.id") if isinstance(value, dict) else None


def _get(connector: Any, path: str) -> Json:
    body = connector.get(path).json()
    if not isinstance(body, dict):
        raise ValueError(f"{path} is not a JSON object")
    return body


def _memory(system: Any, connector: Any) -> list[Json]:
    # sushy has no Memory resource: the collection and its members read as documents.
    path = _link(system.json, "Memory")
    if path is None:
        raise sushy_errors.MissingAttributeError(attribute="Memory", resource=system.path)
    collection = _get(connector, path)
    return [_get(connector, str(member["@odata.id"]))
            for member in collection.get("Members", []) if isinstance(member, dict)]


def _storage(storage: Any) -> Json:
    document = dict(storage.json)
    controllers = [dict(c) for c in document.get("StorageControllers") or []
                   if isinstance(c, dict)]
    if not controllers and _link(document, "Controllers"):
        controllers = _members(storage.controllers)
    return {"storage": document, "drives": [dict(d.json) for d in storage.drives],
            "controllers": controllers}


def _pcie(system: Any) -> list[Json]:
    devices = system.pcie_devices
    if devices.path == "/empty":  # sushy's placeholder when the system links none
        raise sushy_errors.MissingAttributeError(attribute="PCIeDevices",
                                                 resource=system.path)
    result = []
    for device in devices.get_members():
        try:
            functions = _members(device.pcie_functions)
        except sushy_errors.MissingAttributeError:
            functions = []
        result.append({"device": dict(device.json), "functions": functions})
    return result


def _manager(system: Any) -> Json:
    managers = system.managers
    if not managers:
        raise sushy_errors.MissingAttributeError(attribute="Links/ManagedBy",
                                                 resource=system.path)
    return dict(managers[0].json)
