"""What one MetalScope process does (its role), and the start-up guards of upstream's commands.

* :attr:`Role.ALL_IN_ONE` (``metalscope serve``): the API, the ramdisk callbacks, the PXE
  filter driver and the periodic duties (timeouts, recovery, clean-up, PXE filter sync) in
  one process.
* :attr:`Role.API`: the HTTP API, the ramdisk callbacks, starts, aborts and reapplies. It
  runs no PXE filter driver (its allow/deny decisions reach dnsmasq or iptables at the next
  periodic sync of a conductor) and no periodic duties, and never takes the leader lock.
* :attr:`Role.CONDUCTOR`: no HTTP listener; the PXE filter driver, the periodic duties and
  the recovery of interrupted records, as a candidate leader.

The split roles share node locks with each other, so they need a coordination backend other
processes can reach (a PostgreSQL or MariaDB/MySQL database, or a tooz URL).

:func:`check_deployment_mode` refuses ``[DEFAULT]standalone`` values upstream's command of
the same name refuses (spec 1.3).
"""

from __future__ import annotations

import enum

from metalscope.coordination.factory import choose_backend
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings


class Role(enum.Enum):
    ALL_IN_ONE = "all-in-one"
    API = "api"
    CONDUCTOR = "conductor"

    @property
    def serves_http(self) -> bool:
        return self is not Role.CONDUCTOR

    @property
    def runs_duties(self) -> bool:
        """The PXE filter driver, periodic tasks, recovery and leadership."""
        return self is not Role.API

    @property
    def split(self) -> bool:
        return self is not Role.ALL_IN_ONE


#: Upstream's commands: whether each requires standalone = True, and its refusal.
UPSTREAM_COMMANDS: dict[str, tuple[bool, str]] = {
    "ironic-inspector": (True, "To run ironic-inspector in standalone mode, [DEFAULT]standalone "
                               "should be set to True."),
    "ironic-inspector-conductor": (False, "To run ironic-inspector-conductor, "
                                          "[DEFAULT]standalone should be set to False."),
    "ironic-inspector-api-wsgi": (False, "To run ironic-inspector-api, [DEFAULT]standalone "
                                         "should be set to False."),
}


def check_deployment_mode(settings: Settings, command: str) -> None:
    """ConfigurationError with upstream's message when ``command`` (an upstream command
    name) refuses this ``[DEFAULT]standalone``; other names are not checked."""
    if command not in UPSTREAM_COMMANDS:
        return
    wants_standalone, message = UPSTREAM_COMMANDS[command]
    if settings.default.standalone != wants_standalone:
        raise ConfigurationError(message)


def check_role(settings: Settings, role: Role) -> None:
    """ConfigurationError when a split role has no coordination shared with other processes."""
    if role.split and choose_backend(settings)[0] == "local":
        raise ConfigurationError(
            f"The {role.value} role needs coordination shared between processes: set "
            "[database]connection to a PostgreSQL or MariaDB/MySQL database, or "
            "[coordination]backend_url to a tooz backend")


def start_notes(settings: Settings, role: Role) -> list[str]:
    """Warnings worth one log line each at start (after :func:`check_role` passed)."""
    notes = []
    if role.split and settings.pxe_filter.sync_period == 0 and settings.pxe_filter.driver != "noop":
        notes.append("[pxe_filter]sync_period = 0 with split roles: the PXE filter changes of "
                     "API processes never reach the conductor's driver; set a sync period")
    if role is Role.ALL_IN_ONE and not settings.default.standalone:
        notes.append("[DEFAULT]standalone = False only matters to the ironic-inspector-api-wsgi "
                     "and ironic-inspector-conductor commands; this process runs all-in-one")
    return notes
