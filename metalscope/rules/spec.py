"""The rule condition and rule action contracts (spec 7.2, 7.5 to 7.8).

A condition operator is a class registered under the entry-point group
``metalscope.rule_conditions`` with the operator's name (``eq``, ``in-net`` ...); an action
is a class registered under ``metalscope.rule_actions`` with the action's name
(``set-attribute`` ...). The registry instantiates each class once, with no arguments, and
keeps the instance for the life of the service, so plugins hold no per-node state.

Both kinds are synchronous and do no I/O. Actions never call Ironic: they edit the
:class:`~metalscope.node_changes.NodeChanges` they are given, and the processing pipeline
sends the edits once every rule has run.

Parameters are the keys of a condition other than ``op``, ``field``, ``multiple`` and
``invert``, and the keys of an action other than ``action``. They are stored as given
(``null`` values included) and handed to ``check``/``apply`` unchanged, except that an
action's ``FORMATTED_PARAMS`` are formatted with the introspection data first (spec 7.8).
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any, ClassVar, Protocol, runtime_checkable

from metalscope.node_changes import NodeChanges


@runtime_checkable
class RuleCondition(Protocol):
    """A condition operator (spec 7.6)."""

    #: Parameters that must be given with a non-null value.
    REQUIRED_PARAMS: ClassVar[Set[str]]
    #: Parameters that may be given; any other non-null parameter is unexpected.
    OPTIONAL_PARAMS: ClassVar[Set[str]]
    #: Whether a path that matches nothing is checked as the single value ``None``. When
    #: false such a condition makes its rule not match (spec 7.5 step 3).
    ALLOW_NONE: ClassVar[bool]

    def validate(self, params: Mapping[str, Any]) -> None:
        """Check the parameters of a condition being created.

        Raise ``ValueError`` whose text is the detail of the 400 answer
        ``Invalid parameters for operator <op>: <detail>``. :func:`check_params` gives the
        generic detail (``missing required parameter(s): ...``); an operator adds its own
        checks after it (``invalid regular expression: ...``).
        """

    def check(self, field: Any, params: Mapping[str, Any]) -> bool:
        """Whether one value found at the condition's field satisfies the operator.

        ``invert`` and ``multiple`` are applied by the engine, not here. Raise ``ValueError``
        or ``TypeError`` when the value cannot be compared at all (not a number, not an IP
        address): the engine then counts the value as not satisfying the condition, even an
        inverted one, and logs a warning.
        """


@runtime_checkable
class RuleAction(Protocol):
    """A rule action (spec 7.7)."""

    #: Parameters that must be given with a non-null value.
    REQUIRED_PARAMS: ClassVar[Set[str]]
    #: Parameters that may be given; any other non-null parameter is unexpected.
    OPTIONAL_PARAMS: ClassVar[Set[str]]
    #: Parameters whose strings are formatted with the introspection data before
    #: :meth:`apply` is called (spec 7.8), recursively inside lists and dicts.
    FORMATTED_PARAMS: ClassVar[Set[str]]

    def validate(self, params: Mapping[str, Any]) -> None:
        """Check the parameters of an action being created.

        Raise ``ValueError`` whose text is the detail of the 400 answer
        ``Invalid parameters for action <action>: <detail>`` (see
        :meth:`RuleCondition.validate`).
        """

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Run the action for a node whose rule matched, editing ``node`` only.

        ``params`` are already formatted; ``data`` is the processed introspection data, for
        reading only. Raise :class:`~metalscope.errors.RuleActionError` (or another
        MetalScopeError) to abort processing with its message; edits made by earlier
        actions are still sent to Ironic.
        """


def param_problems(required: Set[str], optional: Set[str],
                   params: Mapping[str, Any]) -> list[str]:
    """The generic parameter problems (spec 7.2 step 5); null values count as absent."""
    given = {name for name, value in params.items() if value is not None}
    problems = []
    missing = sorted(required - given)
    if missing:
        problems.append(f"missing required parameter(s): {', '.join(missing)}")
    unexpected = sorted(given - set(required) - set(optional))
    if unexpected:
        problems.append(f"unexpected parameter(s): {', '.join(unexpected)}")
    return problems


def check_params(required: Set[str], optional: Set[str], params: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` with the generic detail text when parameters are wrong."""
    problems = param_problems(required, optional, params)
    if problems:
        raise ValueError("; ".join(problems))


class BaseCondition:
    """Convenience base: one required ``value`` and the generic validation."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"value"})
    OPTIONAL_PARAMS: ClassVar[Set[str]] = frozenset()
    ALLOW_NONE: ClassVar[bool] = False

    def validate(self, params: Mapping[str, Any]) -> None:
        """Apply the generic parameter validation."""
        check_params(self.REQUIRED_PARAMS, self.OPTIONAL_PARAMS, params)


class BaseAction:
    """Convenience base: no parameters, nothing formatted, the generic validation."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset()
    OPTIONAL_PARAMS: ClassVar[Set[str]] = frozenset()
    FORMATTED_PARAMS: ClassVar[Set[str]] = frozenset()

    def validate(self, params: Mapping[str, Any]) -> None:
        """Apply the generic parameter validation."""
        check_params(self.REQUIRED_PARAMS, self.OPTIONAL_PARAMS, params)
