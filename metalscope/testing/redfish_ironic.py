"""A LocalIronic with the ``redfish`` hardware type, for out-of-band inspection tests.

``redfish_ironic_options(workdir)`` gives the ``options`` of a :class:`LocalIronic` that
enables ``redfish`` beside ``fake-hardware`` and writes the policy file that lets every caller
read BMC passwords; ``enroll_redfish_node`` enrolls a node whose BMC is a Redfish service
(sushy-emulator, ``metalscope/testing/redfish.py``). The ``fake-hardware`` nodes of the plain
fixture keep working in such an Ironic; only a test that needs ``redfish`` starts one, so the
session's plain Ironic stays as it was.

Facts checked with Ironic 39.0 and sushy 5.14 against sushy-emulator 2.2 (fake driver, HTTP
basic authentication):

* With these interfaces enabled, a node created with ``driver: redfish`` and nothing else gets
  ``power``/``management`` ``redfish``, ``boot`` ``redfish-virtual-media``, ``deploy``
  ``direct``, ``inspect`` ``no-inspect`` and ``no-*``/``noop`` for the rest. The ``redfish``
  hardware type refuses the ``fake`` boot, deploy, power and management interfaces, and
  ``[dhcp]dhcp_provider = none`` is enough: nothing is booted.
* ``manage`` reads the power state through Redfish: about 1.7 s with the right credentials,
  the node ends ``manageable`` with ``power_state`` ``power off`` (as the emulator's system);
  with wrong ones the node stays in ``enroll`` with ``last_error`` "Failed to get power state
  for node <uuid>. ... returned code 401 ...". A ``PATCH`` of ``driver_info`` is not checked
  against the BMC, so a ``manageable`` node can be given wrong credentials afterwards.
* ``GET /v1/nodes/<node>`` shows ``redfish_password`` as ``******`` unless the policy rule
  ``show_password`` allows the caller (its default is ``!``: nobody); ``"show_password": ""``
  in ``[oslo_policy]policy_file`` allows every caller (with ``noauth``, every request).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from metalscope.testing.ironic import LocalIronic

REDFISH_HARDWARE_TYPE = "redfish"

#: Interfaces enabled on top of the fake ones: what ``redfish`` nodes need, nothing more.
REDFISH_INTERFACES = {
    "enabled_hardware_types": "fake-hardware,redfish",
    "enabled_boot_interfaces": "fake,redfish-virtual-media",
    "enabled_deploy_interfaces": "fake,direct",
    "enabled_management_interfaces": "fake,redfish",
    "enabled_power_interfaces": "fake,redfish",
}

#: The one policy rule that differs from Ironic's defaults: BMC passwords are shown.
SHOW_PASSWORD_POLICY = '"show_password": ""\n'


def redfish_ironic_options(workdir: Path) -> dict[str, dict[str, Any]]:
    """The ``options`` of a LocalIronic serving ``redfish`` nodes and showing their
    passwords; writes the policy file into ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    policy_file = workdir / "policy.yaml"
    policy_file.write_text(SHOW_PASSWORD_POLICY)
    return {"DEFAULT": dict(REDFISH_INTERFACES),
            "oslo_policy": {"policy_file": policy_file}}


def redfish_driver_info(address: str, system_id: str, username: str,
                        password: str) -> dict[str, str]:
    """``driver_info`` of a node whose BMC is the Redfish system ``system_id`` (a path such as
    ``/redfish/v1/Systems/<uuid>``) at ``address`` (``http://127.0.0.1:<port>``)."""
    return {"redfish_address": address, "redfish_system_id": system_id,
            "redfish_username": username, "redfish_password": password}


def enroll_redfish_node(ironic: LocalIronic, name: str | None, driver_info: dict[str, Any],
                        macs: list[str] | None = None, provision_state: str = "manageable",
                        **fields: Any) -> dict[str, Any]:
    """A ``redfish`` node moved to ``provision_state`` (``manage`` checks the credentials
    against the BMC), with one port per MAC in ``macs`` (default: none, as a node enrolled
    for out-of-band inspection has)."""
    return ironic.enroll_node(name, driver_info, macs or [], provision_state=provision_state,
                              driver=REDFISH_HARDWARE_TYPE, **fields)
