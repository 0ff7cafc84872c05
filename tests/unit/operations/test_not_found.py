"""Data that matches no introspection: the node_not_found_hook's node gets an ``enrolling``
record under its lock (FakeIronic, a real SQLite repository, in-process locks)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from metalscope.coordination import HeldNode, LocalCoordinator
from metalscope.errors import HookError, NodeNotFoundInLookup
from metalscope.operations.ironic_wait import Deadline, IronicWait
from metalscope.operations.lookup import NoNode
from metalscope.operations.not_found import find_unknown, open_enrolling_record
from metalscope.processing_hooks.enroll import EnrollHook
from metalscope.processing_hooks.validate_interfaces import ValidateInterfacesHook
from metalscope.state_machine import State
from metalscope.storage.repository import Repository
from tests.factories import ramdisk_data, settings
from tests.fakes import FakeIronic

NOT_FOUND = NodeNotFoundInLookup("Could not find a node for attributes {}")


class FixedHook:
    """A not-found hook that answers ``answer`` (or raises it)."""

    def __init__(self, answer: str | Exception | None) -> None:
        self.answer = answer
        self.calls: list[tuple[dict[str, Any], Any]] = []

    async def __call__(self, data: dict[str, Any], ironic: Any) -> str | None:
        self.calls.append((data, ironic))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def services(repo: Repository, hook: Any = None, **processing: Any) -> Any:
    return SimpleNamespace(ironic=FakeIronic(), repo=repo, coordinator=LocalCoordinator(),
                           settings=settings(processing=processing),
                           extensions=SimpleNamespace(not_found_hook=hook))


def wait() -> IronicWait:
    return IronicWait(Deadline(None))


async def lock_is_free(svc: Any, uuid: str) -> bool:
    lock = await svc.coordinator.acquire(uuid, blocking=False)
    if lock is None:
        return False
    await lock.release()
    return True


async def test_enrolling_record_opened_under_the_lock(repo: Repository) -> None:
    svc = services(repo)
    uuid = svc.ironic.add_node()["uuid"]
    held = await open_enrolling_record(svc, uuid)
    assert held.record.state is State.ENROLLING and held.record.manage_boot
    assert not held.record.finished and await repo.get_node(uuid) == held.record
    assert await repo.attributes_of(uuid) == {}
    async with held:
        assert not await lock_is_free(svc, uuid)
    assert await lock_is_free(svc, uuid)


async def test_record_failure_releases_the_lock(repo: Repository) -> None:
    svc = services(repo)

    async def broken(*args: Any) -> None:
        raise RuntimeError("database gone")

    svc.repo = SimpleNamespace(start_introspection=broken)
    with pytest.raises(RuntimeError, match="database gone"):
        await open_enrolling_record(svc, "8a7e0b8e-0f55-4c3b-9b8e-2b7a0b1c9d01")
    assert await lock_is_free(svc, "8a7e0b8e-0f55-4c3b-9b8e-2b7a0b1c9d01")


async def test_the_hook_gets_the_data_and_ironic(repo: Repository) -> None:
    hook = FixedHook("8a7e0b8e-0f55-4c3b-9b8e-2b7a0b1c9d02")
    svc = services(repo, hook)
    data = ramdisk_data()
    found = await find_unknown(svc, data, NOT_FOUND, wait())
    assert isinstance(found, HeldNode) and found.uuid == hook.answer
    assert hook.calls == [(data, svc.ironic)]
    async with found:
        assert found.record.state is State.ENROLLING


async def test_enroll_hook_end_to_end(repo: Repository) -> None:
    """The enroll hook creates the node; the operation opens its record."""
    hook = EnrollHook(settings(discovery={"enroll_node_fields": {"resource_class": "bm"}}))
    svc = services(repo, hook)
    data = ramdisk_data()
    ValidateInterfacesHook(settings()).before_processing(data)
    found = await find_unknown(svc, data, NOT_FOUND, wait())
    assert isinstance(found, HeldNode) and list(svc.ironic.nodes) == [found.uuid]
    async with found:
        assert found.record.state is State.ENROLLING and data["auto_discovered"] is True


@pytest.mark.parametrize("hook,reason", [
    (None, f"Look up error: {NOT_FOUND}"),
    (FixedHook(None), "Node not found hook returned nothing"),
    (FixedHook(HookError("Port x already exists")),
     "Node not found hook failed: Port x already exists"),
])
async def test_no_node(repo: Repository, hook: FixedHook | None, reason: str) -> None:
    found = await find_unknown(services(repo, hook), ramdisk_data(), NOT_FOUND, wait())
    assert found == NoNode(reason)
    assert await repo.all_uuids() == []
