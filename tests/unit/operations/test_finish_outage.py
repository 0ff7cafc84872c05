"""Work done after the ramdisk's answer (power-off, then finished) and reapply, while Ironic
is unreachable: waited for as long as the introspection may last."""

from __future__ import annotations

from pathlib import Path

from metalscope.extensions import ExtensionRegistry
from tests.unit.api.conftest import make_client
from tests.unit.api.test_introspection_api import wait_state
from tests.unit.operations.outage_app import outage_settings
from tests.unit.operations.outage_ironic import UNREACHABLE, OutageIronic
from tests.unit.operations.test_callback_outage import (
    body_of,
    post,
    status,
    waiting_node,
)


def test_power_off_waits_for_ironic(tmp_path: Path) -> None:
    """The ramdisk has its 200; the power-off is tried again until Ironic answers, and the
    node then ends finished (not error)."""
    ironic = OutageIronic()
    settings = outage_settings(tmp_path)  # the callback would wait 0.5 s only
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = waiting_node(client, ironic, 30, manage_boot=True)
        ironic.down_at = "set_power_state"
        assert post(client, body_of(30)).json() == {"uuid": uuid}
        assert status(client, uuid)["state"] == "processing"  # Ironic stays down until now
        returns = ironic.come_back_after(refusals=2)
        returns.join(60)
        assert not ironic.down  # the power-off met Ironic down twice and kept waiting
        assert wait_state(client, uuid, "finished")["error"] is None
    assert ironic.calls[-1] == ("set_power_state", (uuid, "power off"))
    assert ironic.refused >= 2


def test_power_off_gives_up_when_the_introspection_times_out(tmp_path: Path) -> None:
    """Past ``[DEFAULT]timeout`` the node ends in error with upstream's power-off message."""
    ironic = OutageIronic()
    settings = outage_settings(tmp_path, default={"timeout": 1})
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = waiting_node(client, ironic, 31, manage_boot=True)
        ironic.down_at = "set_power_state"
        assert post(client, body_of(31)).json() == {"uuid": uuid}
        error = wait_state(client, uuid, "error")["error"]
    assert error == (f"Failed to power off node {uuid}, check its power management "
                     f"configuration: {UNREACHABLE}")


def test_reapply_waits_for_ironic(tmp_path: Path) -> None:
    ironic = OutageIronic()
    settings = outage_settings(tmp_path)
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = waiting_node(client, ironic, 32)
        assert post(client, body_of(32)).status_code == 200
        first = wait_state(client, uuid, "finished")
        ironic.down = True
        returns = ironic.come_back_after(refusals=2)
        assert client.post(f"/v1/introspection/{uuid}/data/unprocessed").status_code == 202
        wait_state(client, uuid, "reapplying")
        returns.join(60)
        assert not ironic.down  # the reapply met Ironic down twice and kept waiting
        done = wait_state(client, uuid, "finished")
    assert done["error"] is None and done["started_at"] > first["started_at"]
    assert ironic.refused >= 2
