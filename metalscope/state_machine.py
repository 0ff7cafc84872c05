"""The introspection state machine: vocabulary and the one transition table.

Pure data plus one function; no I/O. Every state change in MetalScope goes through
:func:`next_state` (and is persisted with compare-and-set by the repository).
"""

from __future__ import annotations

import enum

from metalscope.errors import InvalidTransition


class State(str, enum.Enum):
    STARTING = "starting"
    WAITING = "waiting"
    PROCESSING = "processing"
    FINISHED = "finished"
    ERROR = "error"
    REAPPLYING = "reapplying"
    ENROLLING = "enrolling"
    ABORTING = "aborting"


class Event(str, enum.Enum):
    START = "start"
    WAIT = "wait"
    PROCESS = "process"
    FINISH = "finish"
    ERROR = "error"
    ABORT = "abort"
    ABORT_END = "abort_end"
    REAPPLY = "reapply"
    TIMEOUT = "timeout"
    #: MetalScope's own: Ironic could not be reached while a callback was processed.
    IRONIC_UNAVAILABLE = "ironic_unavailable"


S, E = State, Event

#: (state, event) -> new state. Upstream's table (spec 3.3) plus ``waiting --error--> error``
#: and ``aborting --error--> error`` (quirk Q-FSM-1: without them a ramdisk error leaves the
#: node waiting for an hour instead of failing with the real reason), and
#: ``processing --ironic_unavailable--> waiting``: a callback that could not reach Ironic is
#: answered 503 and the node waits for the ramdisk's retry instead of failing.
TRANSITIONS: dict[tuple[State, Event], State] = {
    (S.STARTING, E.WAIT): S.WAITING,
    (S.STARTING, E.ERROR): S.ERROR,
    (S.STARTING, E.TIMEOUT): S.ERROR,
    (S.WAITING, E.START): S.STARTING,
    (S.WAITING, E.PROCESS): S.PROCESSING,
    (S.WAITING, E.ERROR): S.ERROR,
    (S.WAITING, E.ABORT): S.ABORTING,
    (S.WAITING, E.TIMEOUT): S.ERROR,
    (S.PROCESSING, E.FINISH): S.FINISHED,
    (S.PROCESSING, E.ERROR): S.ERROR,
    (S.PROCESSING, E.TIMEOUT): S.ERROR,
    (S.PROCESSING, E.IRONIC_UNAVAILABLE): S.WAITING,
    (S.FINISHED, E.START): S.STARTING,
    (S.FINISHED, E.FINISH): S.FINISHED,
    (S.FINISHED, E.REAPPLY): S.REAPPLYING,
    (S.ERROR, E.START): S.STARTING,
    (S.ERROR, E.ERROR): S.ERROR,
    (S.ERROR, E.ABORT): S.ERROR,
    (S.ERROR, E.REAPPLY): S.REAPPLYING,
    (S.REAPPLYING, E.FINISH): S.FINISHED,
    (S.REAPPLYING, E.ERROR): S.ERROR,
    (S.REAPPLYING, E.REAPPLY): S.REAPPLYING,
    (S.REAPPLYING, E.TIMEOUT): S.ERROR,
    (S.ENROLLING, E.PROCESS): S.PROCESSING,
    (S.ENROLLING, E.ERROR): S.ERROR,
    (S.ENROLLING, E.TIMEOUT): S.ERROR,
    (S.ABORTING, E.ABORT_END): S.ERROR,
    (S.ABORTING, E.ERROR): S.ERROR,
    (S.ABORTING, E.TIMEOUT): S.ERROR,
}

#: States in which an introspection is in progress (``finished_at`` is NULL).
ACTIVE_STATES = frozenset({S.STARTING, S.WAITING, S.PROCESSING, S.ENROLLING, S.ABORTING})


def next_state(state: State | str, event: Event | str) -> State:
    """Return the state reached from ``state`` on ``event``, or raise InvalidTransition."""
    state, event = State(state), Event(event)
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise InvalidTransition(state.value, event.value) from None


def is_allowed(state: State | str, event: Event | str) -> bool:
    return (State(state), Event(event)) in TRANSITIONS
