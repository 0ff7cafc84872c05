"""The built-in condition operators (spec 7.6).

Comparisons (``eq``, ``ne``, ``lt``, ``le``, ``gt``, ``ge``) convert the field to the type of
the rule's ``value`` first: float() when ``value`` is a float, int() when it is an int or a
bool, nothing otherwise. ``matches`` is a full match of ``str(field)``, ``contains`` a search
anywhere in it, ``is-empty`` accepts missing fields, ``in-net`` tests IP membership.

Unusable field values (quirk Q-RULE-3). Upstream crashes processing (500) when a field
cannot be converted for a comparison or is not an IP address for ``in-net``. MetalScope
instead treats such a value as *not satisfying* the condition: ``check`` raises
``ValueError``/``TypeError``, and the engine logs a warning and counts the value as false,
even when the condition is inverted. With ``multiple: any`` another value can still satisfy
the condition (an interface without an IPv4 address does not hide one that has one);
with ``all`` or ``first`` the condition is false. Processing goes on.

``matches`` and ``contains`` get the generic parameter validation (quirk Q-RULE-2), so a
missing ``value`` or an extra parameter is a 400 at creation instead of a later 500.

Time bound. A pattern such as ``(a|a)+$`` takes time doubling with each character of the
value it fails on, and the value comes from the ramdisk. The two regex operators therefore
run on the ``regex`` module, which takes Python ``re`` syntax and semantics (its version 0
mode) but stops a match after a time limit, raising ``TimeoutError``, and releases the GIL
while it matches (``concurrent=True``), so a match running in a worker thread does not hold
the event loop. A pattern is accepted at rule creation only when both ``re`` (upstream's
check and message) and ``regex`` compile it. The limit is given by the engine through
:meth:`TimeBoundCondition.check_within`; plain :meth:`check` uses
:data:`DEFAULT_REGEX_TIMEOUT`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Set
from typing import Any, ClassVar, Protocol, runtime_checkable

import netaddr
import regex

from metalscope.rules.spec import BaseCondition


def coerce(field: Any, expected: Any) -> Any:
    """``field`` converted to the type of ``expected`` (float, or int for ints and bools)."""
    if isinstance(expected, float):
        return float(field)
    if isinstance(expected, int):
        return int(field)
    return field


class _Comparison(BaseCondition):
    def check(self, field: Any, params: Mapping[str, Any]) -> bool:
        """Compare the coerced field with ``value``."""
        value = params["value"]
        return self.compare(coerce(field, value), value)

    def compare(self, field: Any, value: Any) -> bool:
        raise NotImplementedError


class EqCondition(_Comparison):
    """``field == value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field == value)


class NeCondition(_Comparison):
    """``field != value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field != value)


class LtCondition(_Comparison):
    """``field < value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field < value)


class LeCondition(_Comparison):
    """``field <= value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field <= value)


class GtCondition(_Comparison):
    """``field > value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field > value)


class GeCondition(_Comparison):
    """``field >= value``."""

    def compare(self, field: Any, value: Any) -> bool:
        return bool(field >= value)


def _network(value: Any) -> netaddr.IPNetwork:
    try:
        return netaddr.IPNetwork(value)
    except (netaddr.AddrFormatError, TypeError, ValueError) as exc:
        raise ValueError(f"invalid value: {exc}") from exc


class NetCondition(BaseCondition):
    """The field is an IP address inside the network ``value`` (``192.0.2.0/24``)."""

    def validate(self, params: Mapping[str, Any]) -> None:
        """Generic validation, then ``value`` must parse as an IP network."""
        super().validate(params)
        _network(params["value"])

    def check(self, field: Any, params: Mapping[str, Any]) -> bool:
        """Whether the field's address belongs to the network."""
        if not isinstance(field, (str, int)) or isinstance(field, bool):
            raise TypeError(f"{field!r} is not an IP address")
        try:
            address = netaddr.IPAddress(field)
        except netaddr.AddrFormatError as exc:
            raise ValueError(str(exc)) from exc
        return address in _network(params["value"])


#: Seconds one regex condition may run when no limit is given: the default of
#: ``[processing]rule_regex_timeout``.
DEFAULT_REGEX_TIMEOUT = 1.0


@runtime_checkable
class TimeBoundCondition(Protocol):
    """A condition operator whose check can be stopped after a time limit.

    The engine calls :meth:`check_within` instead of ``check`` on such an operator, with
    the time left for the condition being evaluated.
    """

    def check_within(self, field: Any, params: Mapping[str, Any], seconds: float) -> bool:
        """As ``check``, but raise ``TimeoutError`` once ``seconds`` have passed."""


def compile_pattern(pattern: Any) -> None:
    """Raise ``ValueError`` (``invalid regular expression: ...``) unless both ``re`` and
    ``regex`` compile ``pattern``."""
    try:
        re.compile(pattern)
        regex.compile(pattern)
    except (re.error, regex.error, TypeError) as exc:
        raise ValueError(f"invalid regular expression: {exc}") from exc


class _Regex(BaseCondition):
    def validate(self, params: Mapping[str, Any]) -> None:
        """Generic validation, then ``value`` must compile as a regular expression."""
        super().validate(params)
        compile_pattern(params["value"])

    def check(self, field: Any, params: Mapping[str, Any]) -> bool:
        """The check with the default time limit."""
        return self.check_within(field, params, DEFAULT_REGEX_TIMEOUT)

    def check_within(self, field: Any, params: Mapping[str, Any], seconds: float) -> bool:
        raise NotImplementedError


class MatchesCondition(_Regex):
    """``str(field)`` matches the regular expression ``value`` as a whole."""

    def check_within(self, field: Any, params: Mapping[str, Any], seconds: float) -> bool:
        """Anchored at the start; ``$`` is appended unless the pattern ends with one."""
        pattern = str(params["value"])
        if not pattern.endswith("$"):
            pattern += "$"
        return regex.match(pattern, str(field), timeout=_limit(seconds),
                           concurrent=True) is not None


class ContainsCondition(_Regex):
    """The regular expression ``value`` is found somewhere in ``str(field)``."""

    def check_within(self, field: Any, params: Mapping[str, Any], seconds: float) -> bool:
        """Search anywhere in the field's text."""
        return regex.search(str(params["value"]), str(field), timeout=_limit(seconds),
                            concurrent=True) is not None


def _limit(seconds: float) -> float:
    # ``regex`` treats a negative timeout as none at all; no time left means none left.
    return max(seconds, 0.0)


class EmptyCondition(BaseCondition):
    """The field is missing, ``null``, ``""``, ``[]`` or ``{}`` (but not ``0`` or ``false``)."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset()
    ALLOW_NONE: ClassVar[bool] = True

    def check(self, field: Any, params: Mapping[str, Any]) -> bool:
        """Whether the value is null or an empty string, list or object."""
        return field is None or (isinstance(field, (str, list, dict)) and not field)
