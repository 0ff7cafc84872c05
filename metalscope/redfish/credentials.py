"""The BMC address and credentials of an Ironic node, from its ``driver_info``.

The keys are the ``redfish`` hardware type's: ``redfish_address`` (``https://host:port``,
a bare host meaning https, IPv6 literals in brackets, an optional path as the service root),
``redfish_system_id``, ``redfish_username``, ``redfish_password`` and ``redfish_verify_ca``
(a boolean, a boolean-like string, or the path of a CA bundle file or folder).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from metalscope.redfish.errors import RedfishError

#: What Ironic answers instead of a password its policy does not show the caller.
MASKED_PASSWORD = "******"
DEFAULT_ROOT = "/redfish/v1/"
_TRUE = frozenset({"1", "t", "true", "on", "y", "yes"})
_FALSE = frozenset({"0", "f", "false", "off", "n", "no"})


@dataclass(frozen=True)
class BmcAccess:
    """How to reach one node's BMC; the password never shows in a repr."""

    address: str
    system_id: str | None
    username: str | None
    password: str | None = field(repr=False)
    verify: bool | str
    root_prefix: str = DEFAULT_ROOT


def bmc_access(node: Mapping[str, Any], *, verify_default: bool) -> BmcAccess:
    """The BMC access of an Ironic node (as ``GET /v1/nodes/<node>`` shows it).

    Raises :class:`RedfishError` (kind ``configuration``) naming the node and the key when the
    address is missing or malformed, when Ironic masked the password, or when
    ``redfish_verify_ca`` is neither a boolean nor an existing path.
    """
    uuid = str(node.get("uuid") or node.get("name") or "?")
    info = node.get("driver_info") or {}
    if not isinstance(info, Mapping):
        info = {}
    address, root = _address(uuid, info.get("redfish_address"))
    password = _text(info.get("redfish_password"))
    if password == MASKED_PASSWORD:
        raise _config(uuid, "redfish_password",
                      "Ironic masked the password: its policy rule show_password must allow "
                      "MetalScope's user to read it")
    return BmcAccess(address=address, system_id=_text(info.get("redfish_system_id")),
                     username=_text(info.get("redfish_username")), password=password,
                     verify=_verify(uuid, info.get("redfish_verify_ca"), verify_default),
                     root_prefix=root)


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _config(node: str, key: str, reason: str) -> RedfishError:
    return RedfishError(node, f"driver_info/{key}", reason, kind="configuration")


def _address(node: str, value: Any) -> tuple[str, str]:
    text = _text(value)
    if text is None:
        raise _config(node, "redfish_address", "missing: the node has no Redfish address")
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text.strip())
        port = parts.port
    except ValueError:
        raise _config(node, "redfish_address", "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _config(node, "redfish_address", "not an http(s) URL with a host")
    if parts.username is not None or parts.password is not None:
        raise _config(node, "redfish_address", "credentials belong in redfish_username "
                      "and redfish_password, not in the address")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{port}" if port is not None else host
    root = parts.path.rstrip("/") + "/" if parts.path.strip("/") else DEFAULT_ROOT
    return f"{parts.scheme}://{netloc}", root


def _verify(node: str, value: Any, default: bool) -> bool | str:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if os.path.exists(text):
        return text
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise _config(node, "redfish_verify_ca",
                  f"{text!r} is neither a boolean nor the path of a CA bundle")
