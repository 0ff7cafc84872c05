"""JSON pointers and patch operations on plain objects, as Ironic applies them to a node or
port: every segment names an object member, ``add`` and ``replace`` set it, ``remove``
drops it. Shared by ``NodeChanges`` (the snapshot hooks and rules edit), the resumed flush
and the read-back of unanswered PATCHes."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any


def pointer_segments(path: str) -> list[str]:
    """The unescaped segments of a JSON pointer (``/extra/a~1b`` → ``["extra", "a/b"]``)."""
    return [part.replace("~1", "/").replace("~0", "~")
            for part in path.removeprefix("/").split("/")]


def find(doc: Any, path: str) -> tuple[bool, Any]:
    """Whether ``path`` names a member of ``doc``, and its value."""
    target = doc
    for part in pointer_segments(path):
        if not isinstance(target, dict) or part not in target:
            return False, None
        target = target[part]
    return True, target


def apply_op(doc: dict[str, Any], op: Mapping[str, Any]) -> None:
    """Apply one operation to ``doc`` in place; a missing or non-object parent becomes an
    empty object. ValueError for an operation other than add, replace and remove."""
    parts = pointer_segments(op["path"])
    target = doc
    for part in parts[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    if op["op"] in ("add", "replace"):
        target[parts[-1]] = copy.deepcopy(op.get("value"))
    elif op["op"] == "remove":
        target.pop(parts[-1], None)
    else:
        raise ValueError(f"Unsupported patch operation {op['op']!r}")


def apply_patch(doc: Mapping[str, Any], ops: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """A copy of ``doc`` with ``ops`` applied."""
    result = copy.deepcopy(dict(doc))
    for op in ops:
        apply_op(result, op)
    return result
