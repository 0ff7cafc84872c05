"""The leader's recovery of callbacks deferred while Ironic was unreachable."""

from __future__ import annotations

import datetime
from pathlib import Path

import sqlalchemy as sa
from starlette.testclient import TestClient

from metalscope import background
from metalscope.coordination import take_lock
from metalscope.extensions import ExtensionRegistry
from metalscope.operations import recovery
from metalscope.storage import tables
from tests.unit.api.conftest import make_client
from tests.unit.api.test_introspection_api import drain, wait_state
from tests.unit.operations.outage_app import outage_settings
from tests.unit.operations.outage_ironic import OutageIronic
from tests.unit.operations.test_callback_outage import (
    body_of,
    call,
    callback_row,
    post,
    services,
    status,
    waiting_node,
)


def deferred_node(client: TestClient, ironic: OutageIronic, index: int) -> str:
    uuid = waiting_node(client, ironic, index)
    ironic.down = True
    assert post(client, body_of(index)).status_code == 503
    return uuid


def recover(client: TestClient, grace: float = 0) -> int:
    return int(call(client, recovery.recover_deferred, services(client), grace))


def age_callback(client: TestClient, uuid: str, seconds: float) -> None:
    async def move() -> None:
        earlier = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - \
            datetime.timedelta(seconds=seconds)
        async with services(client).repo.engine.begin() as conn:
            await conn.execute(sa.update(tables.ramdisk_callbacks).where(
                tables.ramdisk_callbacks.c.node_uuid == uuid).values(received_at=earlier))
    call(client, move)


def test_processed_from_stored_data_once_ironic_answers(client: TestClient,
                                                        ironic: OutageIronic) -> None:
    """The ramdisk gave up; Ironic is back: the stored data is processed, and a late
    retry of the same callback is answered without a second processing."""
    uuid = deferred_node(client, ironic, 40)
    ironic.down = False
    assert recover(client) == 1
    assert wait_state(client, uuid, "finished")["error"] is None
    assert ironic.count("patch_node") == 1
    late = post(client, body_of(40))
    assert late.status_code == 200 and late.json() == {"uuid": uuid}
    drain(client)
    assert ironic.count("patch_node") == 1


def test_nothing_while_ironic_is_down(client: TestClient, ironic: OutageIronic) -> None:
    """One probe, no processing, the record untouched (still waiting, lock free)."""
    uuid = deferred_node(client, ironic, 41)
    before = status(client, uuid)
    refused = ironic.refused
    assert recover(client) == 0
    assert ironic.refused == refused + 1
    assert status(client, uuid) == before
    ironic.down = False
    assert recover(client) == 1
    wait_state(client, uuid, "finished")


def test_grace_leaves_room_for_the_ramdisk_retry(client: TestClient,
                                                 ironic: OutageIronic) -> None:
    uuid = deferred_node(client, ironic, 42)
    ironic.down = False
    assert recover(client, recovery.RAMDISK_RETRY_GAP) == 0
    age_callback(client, uuid, recovery.RAMDISK_RETRY_GAP + 1)
    assert recover(client, recovery.RAMDISK_RETRY_GAP) == 1
    wait_state(client, uuid, "finished")


def test_a_callback_that_came_meanwhile_is_not_processed_twice(
        client: TestClient, ironic: OutageIronic) -> None:
    uuid = deferred_node(client, ironic, 43)
    ironic.down = False
    assert post(client, body_of(43)).json() == {"uuid": uuid}
    wait_state(client, uuid, "finished")
    drain(client)
    assert recover(client) == 0
    assert ironic.count("patch_node") == 1


def test_busy_node_is_left_to_its_callback(client: TestClient, ironic: OutageIronic) -> None:
    """A locked node (a retry being processed) is skipped, not waited for."""
    uuid = deferred_node(client, ironic, 44)
    ironic.down = False
    svc = services(client)
    held = call(client, take_lock, svc.coordinator, uuid)
    with client.portal.wrap_async_context_manager(held):  # type: ignore[union-attr]
        assert recover(client) == 0
    assert status(client, uuid)["state"] == "waiting"


def test_deferred_again_when_ironic_drops_during_recovery(client: TestClient,
                                                          ironic: OutageIronic) -> None:
    """The round stops; the record waits again, its callback dated anew."""
    uuid = deferred_node(client, ironic, 45)
    age_callback(client, uuid, 100)
    ironic.down = False
    ironic.down_at = "list_node_ports"
    assert recover(client) == 0
    assert status(client, uuid)["state"] == "waiting"
    received = callback_row(client, uuid).received_at
    assert datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - received < \
        datetime.timedelta(seconds=10)


def test_without_stored_data_only_the_ramdisk_can_complete_it(tmp_path: Path,
                                                              ironic: OutageIronic) -> None:
    settings = outage_settings(tmp_path, store_data="none")
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        uuid = deferred_node(client, ironic, 46)
        ironic.down = False
        assert recover(client) == 0
        assert status(client, uuid)["state"] == "waiting"
        assert post(client, body_of(46)).json() == {"uuid": uuid}
        assert wait_state(client, uuid, "finished")["error"] is None


def test_periodic_recovery_round_includes_deferred_callbacks(client: TestClient,
                                                             ironic: OutageIronic) -> None:
    uuid = deferred_node(client, ironic, 47)
    age_callback(client, uuid, recovery.RAMDISK_RETRY_GAP + 1)
    ironic.down = False
    assert call(client, background.recover_interrupted, services(client)) == 1
    wait_state(client, uuid, "finished")


def test_interrupted_processing_waits_when_ironic_is_down(client: TestClient,
                                                          ironic: OutageIronic) -> None:
    """Recovery of a record a stopped instance left in processing meets an unreachable
    Ironic: the record is deferred (waiting), not failed as interrupted."""
    uuid = deferred_node(client, ironic, 48)
    svc = services(client)

    async def leave_processing() -> None:
        record = await svc.repo.get_node(uuid)
        assert record is not None
        await svc.repo.begin_processing(record, None, None)

    call(client, leave_processing)
    assert status(client, uuid)["state"] == "processing"
    assert call(client, recovery.recover_interrupted, svc) == 1
    record = status(client, uuid)
    assert (record["state"], record["error"]) == ("waiting", None)
