"""The transition table (spec 3.3) plus the Q-FSM-1 additions."""

import pytest

from metalscope.errors import InvalidTransition
from metalscope.state_machine import (
    ACTIVE_STATES,
    TRANSITIONS,
    Event,
    State,
    is_allowed,
    next_state,
)


class TestNextState:
    @pytest.mark.parametrize("state,event,expected", [
        ("starting", "wait", "waiting"),
        ("waiting", "process", "processing"),
        ("processing", "finish", "finished"),
        ("finished", "start", "starting"),
        ("error", "reapply", "reapplying"),
        ("reapplying", "finish", "finished"),
        ("enrolling", "process", "processing"),
        ("waiting", "abort", "aborting"),
        ("aborting", "abort_end", "error"),
        ("waiting", "timeout", "error"),
        ("error", "abort", "error"),
    ])
    def test_upstream_transitions(self, state: str, event: str, expected: str) -> None:
        """Every upstream transition used by the service leads where the spec says."""
        assert next_state(state, event) is State(expected)

    def test_waiting_can_error(self) -> None:
        """A ramdisk error on a waiting node ends it in error (Q-FSM-1 fixed)."""
        assert next_state(State.WAITING, Event.ERROR) is State.ERROR
        assert next_state(State.ABORTING, Event.ERROR) is State.ERROR

    @pytest.mark.parametrize("state", ["starting", "processing", "reapplying", "enrolling",
                                       "aborting"])
    def test_start_refused_while_busy(self, state: str) -> None:
        """Starting is refused in busy states with the upstream message."""
        with pytest.raises(InvalidTransition) as exc:
            next_state(state, "start")
        assert str(exc.value) == (f"Can not transition from state '{state}' on event 'start' "
                                  "(no defined transition)")

    def test_process_only_from_waiting_or_enrolling(self) -> None:
        """Only waiting and enrolling records accept ramdisk data."""
        allowed = {s for s in State if is_allowed(s, Event.PROCESS)}
        assert allowed == {State.WAITING, State.ENROLLING}

    def test_table_is_closed(self) -> None:
        """Every transition leads to a known state and active states are not terminal."""
        assert all(isinstance(v, State) for v in TRANSITIONS.values())
        assert State.FINISHED not in ACTIVE_STATES and State.ERROR not in ACTIVE_STATES
