"""OutageIronic: the unit tests' FakeIronic with an off switch (unit tests only)."""

from __future__ import annotations

import threading
from typing import Any

from metalscope.errors import IronicError
from tests.fakes import FakeIronic

UNREACHABLE = "Cannot reach Ironic: All connection attempts failed"
_METHODS = ("get_node", "validate_node", "list_node_ports", "list_nodes",
            "find_ports_by_address", "patch_node", "create_port", "patch_port", "delete_port",
            "set_boot_device", "set_power_state", "add_trait", "remove_trait", "create_node")


class OutageIronic(FakeIronic):
    """While ``down``, every call fails as an unreachable Ironic does (status None).

    ``lose_answer_of`` names a method whose next call is applied, after which Ironic goes
    down before answering: the outcome a client sees when Ironic stops mid-request.
    ``down_at`` names a method whose next call finds Ironic gone. ``refused`` counts the
    calls that met the outage; :meth:`come_back_after` ends the outage once that many calls
    were refused, whatever the machine's load.
    """

    def __init__(self) -> None:
        super().__init__()
        self.down = False
        self.lose_answer_of: str | None = None
        self.down_at: str | None = None
        self.refused = 0
        self._refusals = threading.Condition()

    def come_back_after(self, refusals: int, timeout: float = 60.0) -> threading.Thread:
        """End the outage (from another thread) right after the ``refusals``-th refused call;
        give up after ``timeout`` seconds, leaving Ironic down."""
        def wait_then_come_back() -> None:
            with self._refusals:
                if self._refusals.wait_for(lambda: self.refused >= refusals, timeout):
                    self.down = False

        thread = threading.Thread(target=wait_then_come_back, daemon=True)
        thread.start()
        return thread

    def count(self, name: str) -> int:
        return sum(1 for call in self.calls if call[0] == name)

    def _gate(self, name: str) -> None:
        if self.down_at == name:
            self.down_at = None
            self.down = True
        if self.down:
            with self._refusals:
                self.refused += 1
                self._refusals.notify_all()
            raise IronicError(UNREACHABLE, None)

    def _after(self, name: str) -> None:
        if self.lose_answer_of == name:
            self.lose_answer_of = None
            self.down = True
            raise IronicError("Cannot reach Ironic: Server disconnected without sending a "
                              "response.", None)


def _gated(name: str) -> Any:
    base = getattr(FakeIronic, name)

    async def method(self: OutageIronic, *args: Any, **kwargs: Any) -> Any:
        self._gate(name)
        result = await base(self, *args, **kwargs)
        self._after(name)
        return result

    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(OutageIronic, _name, _gated(_name))
