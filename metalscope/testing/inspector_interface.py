"""Ironic driving MetalScope through Ironic's own ``inspector`` inspect interface.

Ironic 32.x is the last release series with that interface (33.0 removed it); deployments
that still run it call the inspection service exactly as they called ironic-inspector. This
module configures a :class:`~metalscope.testing.ironic.LocalIronic` of such a release to
drive a MetalScope on loopback. What the interface does, read from Ironic 32.1.0
(``ironic/drivers/modules/inspector/interface.py``) and checked against it:

* **Who boots the node.** Ironic boots the ramdisk itself only when the node's boot *and*
  network interfaces support in-band inspection (``validate_inspection``). ``fake`` boot and
  ``noop`` network do not, so Ironic leaves the boot to the inspection service: from a
  short-lived thread it calls ``start_introspection`` without ``manage_boot`` (the service's
  default: managed boot), and MetalScope sets PXE and reboots the node through Ironic.
* **Status.** Every ``[inspector]status_check_period`` seconds a conductor periodic task
  reads the status of nodes in ``inspect wait``. Once finished it fetches the processed data,
  stores the inventory as the node's own (``GET /v1/nodes/<node>/inventory``) and moves the
  node to ``manageable``; on an error, to ``inspect failed``.
* **Abort.** ``PUT .../states/provision {"target": "abort"}`` makes the conductor call the
  service's abort while it holds the node lock (inside the API request, with
  ``rpc_transport = none``). A power-off requested during that call waits for the lock in
  Ironic and ends in 409 NodeLocked: the service must answer first and power off after.
* **Callback URL.** Ironic builds ``ipa-inspection-callback-url`` only when it boots the node
  itself, from ``[inspector]callback_endpoint_override`` (else the service endpoint), and
  refuses ``localhost``, ``localhost.localdomain`` and loopback IP literals there.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

#: The inspect interfaces enabled: the interface under test, plus Ironic's own two.
INSPECT_INTERFACES = "inspector,no-inspect,fake"
#: Host names Ironic refuses in the callback URL besides loopback IP literals.
_REFUSED_NAMES = ("localhost", "localhost.localdomain")


def accepted_as_callback_host(name: str) -> bool:
    """Whether Ironic accepts ``name`` as the host of the ramdisk callback URL."""
    try:
        return not ipaddress.ip_address(name).is_loopback
    except ValueError:
        return name not in _REFUSED_NAMES


def resolves_to_loopback(name: str) -> bool:
    """Whether every address of ``name`` is 127.0.0.1, where the test services listen."""
    try:
        infos = socket.getaddrinfo(name, None, socket.AF_UNSPEC, socket.SOCK_STREAM)
    except OSError:
        return False
    return bool(infos) and {info[4][0] for info in infos} == {"127.0.0.1"}


def callback_host_name() -> str | None:
    """A name for the callback URL that Ironic accepts and that reaches 127.0.0.1.

    The machine's own host name, when it resolves to 127.0.0.1 only (containers and most
    test machines map it there in ``/etc/hosts``); None otherwise, and nothing is edited.
    """
    for name in dict.fromkeys((socket.gethostname(), socket.getfqdn())):
        if name and accepted_as_callback_host(name) and resolves_to_loopback(name):
            return name
    return None


def inspector_interface_options(metalscope_url: str, callback_host: str | None = None,
                                status_check_period: int = 1) -> dict[str, dict[str, Any]]:
    """``ironic.conf`` sections (for LocalIronic's ``options``) that enable the ``inspector``
    inspect interface and point it at the MetalScope at ``metalscope_url`` (no auth).

    With ``callback_host``, the callback URL the ramdisk would be given is
    ``http://<callback_host>:<MetalScope's port>/v1/continue``; without it Ironic falls back
    to ``metalscope_url``, which it accepts only if it is not a loopback address (only
    needed when Ironic boots the node itself).
    """
    inspector: dict[str, Any] = {
        "endpoint_override": metalscope_url, "auth_type": "none",
        "status_check_period": status_check_period,
        "require_managed_boot": False,  # explicit: its unset default only logs a warning
    }
    if callback_host is not None:
        port = metalscope_url.rsplit(":", 1)[1].rstrip("/")
        inspector["callback_endpoint_override"] = f"http://{callback_host}:{port}"
    return {"DEFAULT": {"enabled_inspect_interfaces": INSPECT_INTERFACES},
            "inspector": inspector}
