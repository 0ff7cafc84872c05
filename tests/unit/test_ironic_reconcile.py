"""The decisions about requests whose answer was lost, and the read-back-then-resend loop."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metalscope.errors import IronicError, IronicNoAnswer
from metalscope.ironic_reconcile import patch_applied, port_of_node, reconciled
from metalscope.json_patch import apply_patch, pointer_segments

NODE = {"uuid": "n1", "properties": {"cpus": 4, "capabilities": "boot_mode:uefi"},
        "extra": {"foo": "bar", "a/b": 1}, "driver_info": {"ipmi_password": "******"}}


def add(path: str, value: Any) -> dict[str, Any]:
    return {"op": "add", "path": path, "value": value}


def remove(path: str) -> dict[str, Any]:
    return {"op": "remove", "path": path}


class TestPatchApplied:
    @pytest.mark.parametrize("ops,applied", [
        ([add("/properties/cpus", 4)], True),
        ([add("/properties/cpus", 8)], False),
        ([add("/properties/cpus", "4")], False),  # JSON values compare with their type
        ([{"op": "replace", "path": "/properties/capabilities", "value": "boot_mode:uefi"}],
         True),
        ([add("/properties/capabilities", "boot_mode:bios")], False),
        ([add("/properties/memory_mb", 2048)], False),  # not there yet
        ([remove("/extra/gone")], True),
        ([remove("/extra/foo")], False),
        ([add("/extra/a~1b", 1)], True),  # escaped "/" in a member name
        ([add("/extra/a~1b", 2)], False),
        ([add("/properties/root_device", {"serial": "s1"})], False),
        ([add("/properties/root_device/serial", "s1")], False),  # parent missing
        ([add("/properties/cpus", 4), remove("/extra/gone"),
          add("/properties/capabilities", "boot_mode:uefi")], True),
        ([add("/properties/cpus", 4), add("/properties/cpus", 8)], False),  # last op wins
        ([add("/extra/x", 1), remove("/extra/x")], True),
        ([remove("/properties/cpus"), add("/properties/cpus", 4)], True),
        ([add("/driver_info/ipmi_password", "secret")], False),  # masked on reading: resent
        ([{"op": "test", "path": "/extra/foo", "value": "bar"}], False),  # not judged
        ([], True),
    ])
    def test_patch_applied(self, ops: list[dict[str, Any]], applied: bool) -> None:
        assert patch_applied(NODE, ops) is applied

    def test_the_node_read_back_is_left_alone(self) -> None:
        node = copy.deepcopy(NODE)
        apply_patch(node, [add("/properties/cpus", 1), remove("/extra/foo")])
        assert node == NODE

    def test_apply_patch(self) -> None:
        patched = apply_patch({"properties": {"cpus": 1}, "extra": "not an object"},
                              [add("/properties/local_gb", 10), add("/extra/k", "v"),
                               remove("/properties/cpus")])
        assert patched == {"properties": {"local_gb": 10}, "extra": {"k": "v"}}

    def test_pointer_segments(self) -> None:
        assert pointer_segments("/extra/a~1b~0c") == ["extra", "a/b~c"]
        assert pointer_segments("properties/cpus") == ["properties", "cpus"]


def test_port_of_node() -> None:
    ports = [{"uuid": "p1", "node_uuid": "other"}, {"uuid": "p2", "node_uuid": "n1"}]
    assert port_of_node(ports, "n1") == {"uuid": "p2", "node_uuid": "n1"}
    assert port_of_node(ports[:1], "n1") is None
    assert port_of_node([], "n1") is None


class Ironic:
    """Scripted outcomes of ``send`` (an answer or an exception each) and of ``read_back``."""

    def __init__(self, sends: list[Any], reads: list[Any]) -> None:
        self.sends = list(sends)
        self.reads = list(reads)
        self.sent = 0
        self.read = 0

    async def send(self) -> Any:
        self.sent += 1
        return self._next(self.sends)

    async def read_back(self) -> Any:
        self.read += 1
        return self._next(self.reads)

    @staticmethod
    def _next(outcomes: list[Any]) -> Any:
        outcome = outcomes.pop(0)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


LOST = IronicNoAnswer("Cannot reach Ironic: Timed out waiting for the answer")
BAD = IronicError("Couldn't apply patch. Reason: can't remove non-existent object 'x'", 400)
DOWN = IronicError("Cannot reach Ironic: Connection refused")


async def run(ironic: Ironic, resends: int = 2) -> Any:
    return await reconciled("PATCH of node n1", ironic.send, ironic.read_back,
                            conflicts={400}, resends=resends)


@pytest.mark.asyncio
class TestReconciled:
    async def test_answered(self) -> None:
        ironic = Ironic(["patched"], [])
        assert await run(ironic) == "patched"
        assert (ironic.sent, ironic.read) == (1, 0)

    async def test_lost_answer_but_applied(self) -> None:
        ironic = Ironic([LOST], ["read back"])
        assert await run(ironic) == "read back"
        assert (ironic.sent, ironic.read) == (1, 1)

    async def test_lost_and_not_applied_is_sent_again(self) -> None:
        ironic = Ironic([LOST, "patched"], [None])
        assert await run(ironic) == "patched"
        assert (ironic.sent, ironic.read) == (2, 1)

    async def test_resend_meeting_a_conflict_looks_again(self) -> None:
        """The first PATCH landed after the read-back: the resend's 400 is not believed."""
        ironic = Ironic([LOST, BAD], [None, "read back"])
        assert await run(ironic) == "read back"
        assert (ironic.sent, ironic.read) == (2, 2)

    async def test_conflict_that_holds(self) -> None:
        ironic = Ironic([LOST, BAD], [None, None])
        with pytest.raises(IronicError) as caught:
            await run(ironic)
        assert caught.value is BAD

    async def test_other_errors_of_a_resend_are_raised(self) -> None:
        failure = IronicError("Internal Server Error", 500)
        ironic = Ironic([LOST, failure], [None])
        with pytest.raises(IronicError) as caught:
            await run(ironic)
        assert caught.value is failure

    async def test_unreachable_when_reading_back(self) -> None:
        ironic = Ironic([LOST], [DOWN])
        with pytest.raises(IronicError) as caught:
            await run(ironic)
        assert caught.value.status is None and caught.value is DOWN
        assert ironic.sent == 1

    async def test_never_an_answer(self) -> None:
        ironic = Ironic([LOST, LOST, LOST], [None, None])
        with pytest.raises(IronicError) as caught:
            await run(ironic, resends=2)
        assert caught.value.status is None
        assert caught.value.message.startswith("Cannot reach Ironic: PATCH of node n1 got no "
                                               "answer 3 times")
        assert (ironic.sent, ironic.read) == (3, 2)

    async def test_first_error_answer_is_not_reconciled(self) -> None:
        ironic = Ironic([BAD], [])
        with pytest.raises(IronicError) as caught:
            await run(ironic)
        assert caught.value is BAD and ironic.read == 0
