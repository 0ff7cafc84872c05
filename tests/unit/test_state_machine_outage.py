"""The one transition MetalScope adds for an unreachable Ironic, and what it leaves alone."""

import pytest

from metalscope.errors import InvalidTransition
from metalscope.state_machine import TRANSITIONS, Event, State, is_allowed, next_state


def test_processing_goes_back_to_waiting() -> None:
    """A callback that could not reach Ironic gives the node back to the ramdisk's retry."""
    assert next_state(State.PROCESSING, Event.IRONIC_UNAVAILABLE) is State.WAITING
    assert next_state("processing", "ironic_unavailable") is State.WAITING


def test_only_processing_accepts_it() -> None:
    """Reapply, abort, start and enroll never give work back: they wait or end."""
    allowed = {s for s in State if is_allowed(s, Event.IRONIC_UNAVAILABLE)}
    assert allowed == {State.PROCESSING}


@pytest.mark.parametrize("state", ["starting", "waiting", "finished", "error", "reapplying",
                                   "enrolling", "aborting"])
def test_refused_elsewhere_with_upstream_message(state: str) -> None:
    with pytest.raises(InvalidTransition) as exc:
        next_state(state, "ironic_unavailable")
    assert str(exc.value) == (f"Can not transition from state '{state}' on event "
                              "'ironic_unavailable' (no defined transition)")


def test_the_rest_of_the_table_is_unchanged() -> None:
    """Without the new event the table is upstream's plus the two Q-FSM-1 additions."""
    others = {key for key in TRANSITIONS if key[1] is not Event.IRONIC_UNAVAILABLE}
    assert len(others) == 28
    assert (State.WAITING, Event.ERROR) in others and (State.ABORTING, Event.ERROR) in others


def test_waiting_again_can_process_again() -> None:
    """The deferred record accepts the retry's ``process`` as any waiting one."""
    waiting = next_state(State.PROCESSING, Event.IRONIC_UNAVAILABLE)
    assert next_state(waiting, Event.PROCESS) is State.PROCESSING
    assert next_state(waiting, Event.TIMEOUT) is State.ERROR
