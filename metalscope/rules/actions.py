"""The built-in rule actions (spec 7.7) and the formatting of their values (spec 7.8).

Actions only edit :class:`~metalscope.node_changes.NodeChanges`; the pipeline sends the
edits to Ironic afterwards, including the retries spec 7.7 describes for traits and the
``reset_interfaces`` fallback of ``set-attribute``.

Formatting: the strings of a formatted parameter (at any depth of lists and dicts, keys
included) are formatted with ``str.format`` and the single argument ``data``. A reference
to a missing key or index is a :class:`~metalscope.errors.RuleActionError` with the
properly filled-in message of the quirk Q-RULE-1 fix; a malformed template (a lone brace)
is one too, with its own message.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Set
from typing import Any, ClassVar, NoReturn

from metalscope.errors import RuleActionError
from metalscope.node_changes import NodeChanges, normalize_path
from metalscope.rules.spec import BaseAction, check_params

LOG = logging.getLogger(__name__)


# -- formatting (spec 7.8) --------------------------------------------------------------------
def format_value(value: Any, data: Mapping[str, Any]) -> Any:
    """``value`` with every string formatted using ``data``; other scalars are unchanged."""
    if isinstance(value, str):
        return _format_string(value, data)
    if isinstance(value, list):
        return [format_value(item, data) for item in value]
    if isinstance(value, dict):
        return {format_value(k, data): format_value(v, data) for k, v in value.items()}
    return value


def format_params(params: Mapping[str, Any], formatted: Set[str],
                  data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``params`` with the parameters named in ``formatted`` formatted."""
    return {name: format_value(value, data) if name in formatted else value
            for name, value in params.items()}


def _format_string(template: str, data: Mapping[str, Any]) -> str:
    try:
        return template.format(data=data)
    except (KeyError, IndexError) as exc:
        raise RuleActionError(
            f"Invalid formatting variable key provided in value {template}: {exc}") from exc
    except (ValueError, TypeError, AttributeError) as exc:
        raise RuleActionError(f"Invalid format string in value {template}: {exc}") from exc


# -- node paths ---------------------------------------------------------------------------------
def _check_path(path: Any) -> None:
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError(f"invalid value for path: {path!r}")


def _segments(path: str) -> list[str]:
    """A PATCH path's unescaped segments (``/extra/a~1b`` → ``["extra", "a/b"]``)."""
    return [p.replace("~1", "/").replace("~0", "~") for p in path.strip("/").split("/")]


def _lookup(node: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    """``(found, value)`` at a PATCH path of the node's REST JSON."""
    target: Any = node
    for segment in _segments(path):
        if not isinstance(target, Mapping) or segment not in target:
            return False, None
        target = target[segment]
    return True, target


# -- actions ------------------------------------------------------------------------------------
class FailAction(BaseAction):
    """Abort processing with the error ``message``."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"message"})

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> NoReturn:
        """Raise RuleActionError with the message."""
        raise RuleActionError(str(params["message"]))


class SetAttributeAction(BaseAction):
    """Set a node field: ``add`` of ``value`` at ``path`` (``driver``, ``/extra/x`` ...)."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"path"})
    OPTIONAL_PARAMS: ClassVar[Set[str]] = frozenset({"value", "reset_interfaces"})
    FORMATTED_PARAMS: ClassVar[Set[str]] = frozenset({"value"})

    def validate(self, params: Mapping[str, Any]) -> None:
        """``path`` is required; the ``value`` key too, but it may be null."""
        required = self.REQUIRED_PARAMS | ({"value"} if "value" not in params else set())
        check_params(required, self.OPTIONAL_PARAMS, params)
        _check_path(params["path"])

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Record the patch, asking Ironic to reset interfaces when the driver changes."""
        path = params["path"]
        node.patch([{"op": "add", "path": path, "value": params.get("value")}],
                   reset_interfaces=True if _resets_interfaces(path, params) else None)


def _resets_interfaces(path: str, params: Mapping[str, Any]) -> bool:
    """A driver change resets interfaces unless ``reset_interfaces`` is given and false."""
    flag = params.get("reset_interfaces")
    return path.strip("/") == "driver" and (flag is None or bool(flag))


class SetCapabilityAction(BaseAction):
    """Set the capability ``name`` to ``value``; a null or absent value removes it."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"name"})
    OPTIONAL_PARAMS: ClassVar[Set[str]] = frozenset({"value"})
    FORMATTED_PARAMS: ClassVar[Set[str]] = frozenset({"value"})

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Merge the capability into ``properties/capabilities``."""
        node.update_capabilities(**{str(params["name"]): params.get("value")})


class ExtendAttributeAction(BaseAction):
    """Append ``value`` to the list at ``path`` (created when missing), once if ``unique``."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"path", "value"})
    OPTIONAL_PARAMS: ClassVar[Set[str]] = frozenset({"unique"})
    FORMATTED_PARAMS: ClassVar[Set[str]] = frozenset({"value"})

    def validate(self, params: Mapping[str, Any]) -> None:
        """Generic validation, then ``path`` must be a non-empty string."""
        super().validate(params)
        _check_path(params["path"])

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Patch the extended list, or nothing when the value is unique and present."""
        path = normalize_path(params["path"])
        found, current = _lookup(node.node, path)
        values = [] if current is None else current
        if not isinstance(values, list):
            raise RuleActionError(f"Cannot extend attribute {path}: its value {current!r} "
                                  "is not a list")
        if params.get("unique") and params["value"] in values:
            return
        op = "replace" if found and current is not None else "add"
        node.patch([{"op": op, "path": path, "value": [*values, params["value"]]}])


class AddTraitAction(BaseAction):
    """Add the trait ``name`` to the node."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"name"})

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Record the new trait."""
        node.add_trait(str(params["name"]))


class RemoveTraitAction(BaseAction):
    """Remove the trait ``name`` from the node; a trait it lacks is no error."""

    REQUIRED_PARAMS: ClassVar[Set[str]] = frozenset({"name"})

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Record the trait's removal."""
        node.remove_trait(str(params["name"]))


class ExampleAction(BaseAction):
    """A template for third-party actions: accepts any parameters and only logs them."""

    def validate(self, params: Mapping[str, Any]) -> None:
        """Any parameters are accepted."""

    def apply(self, node: NodeChanges, params: Mapping[str, Any],
              data: Mapping[str, Any]) -> None:
        """Log the node and the parameters."""
        LOG.info("example action applied to node %s with parameters %s", node.uuid, dict(params))
