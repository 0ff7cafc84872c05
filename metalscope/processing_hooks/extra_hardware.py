"""The ``extra_hardware`` hook: turn the ramdisk's ``data`` list into a nested ``extra`` dict.

IPA's ``extra-hardware`` collector reports ``[category, item, key, value]`` lists under the
top-level ``data`` key; rules are easier to write against
``extra[category][item][key] = value`` (spec 5.4). Nothing is sent to Ironic.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from typing import Any

from metalscope.node_changes import NodeChanges
from metalscope.processing_hooks.spec import BaseHook

LOG = logging.getLogger(__name__)

#: Length of one extra-hardware item: category, item, key, value.
ITEM_SIZE = 4

Extra = dict[Any, dict[Any, dict[Any, Any]]]


class ExtraHardwareHook(BaseHook):
    """Moves ``data.data`` to ``data.extra`` in nested form."""

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Convert ``data`` when its format is recognised; with ``strict``, drop it otherwise."""
        if "data" not in data:
            LOG.warning("No extra hardware information was received from the ramdisk "
                        "for node %s", node.uuid)
            return
        strict = self.settings.extra_hardware.strict
        if not is_recognised(data["data"], strict):
            LOG.warning("The extra hardware data of node %s is not a list of %d-item lists, "
                        "it is not available to introspection rules", node.uuid, ITEM_SIZE)
            if strict:
                del data["data"]
            return
        data["extra"] = convert(data["data"])
        del data["data"]


def is_recognised(raw: Any, strict: bool) -> bool:
    """A list of lists; with ``strict``, every one of them also has exactly four items."""
    if not isinstance(raw, list) or not all(isinstance(item, list) for item in raw):
        return False
    return not strict or all(len(item) == ITEM_SIZE for item in raw)


def convert(raw: list[list[Any]]) -> Extra:
    """``{category: {item: {key: value}}}``; empty items are skipped, malformed ones logged."""
    extra: Extra = {}
    for entry in raw:
        if not entry:
            continue
        if len(entry) != ITEM_SIZE or not all(isinstance(part, Hashable) for part in entry[:3]):
            LOG.warning("Skipping malformed extra hardware item %r", entry)
            continue
        category, item, key, value = entry
        extra.setdefault(category, {}).setdefault(item, {})[key] = as_int(value)
    return extra


def as_int(value: Any) -> Any:
    """``value`` as an integer when it converts to one, else unchanged."""
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return value
