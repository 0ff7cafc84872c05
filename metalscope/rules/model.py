"""Rule, Condition and Action records (spec 7.1) and their API (JSON) forms."""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any


@dataclass
class Condition:
    op: str
    field: str
    multiple: str = "any"
    invert: bool = False
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.params, "op": self.op, "field": self.field,
                "multiple": self.multiple, "invert": self.invert}


@dataclass
class Action:
    action: str
    params: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {**self.params, "action": self.action}


@dataclass
class Rule:
    uuid: str
    actions: list[Action]
    conditions: list[Condition] = dataclasses.field(default_factory=list)
    description: str | None = None
    scope: str | None = None
    created_at: datetime.datetime | None = None

    def as_dict(self, short: bool = False, link_prefix: str = "") -> dict[str, Any]:
        """The API form: full (GET /v1/rules/<uuid>, POST) or short (list)."""
        result: dict[str, Any] = {
            "uuid": self.uuid, "description": self.description, "scope": self.scope,
            "links": [{"href": f"{link_prefix}/v1/rules/{self.uuid}", "rel": "self"}],
        }
        if not short:
            result["conditions"] = [c.as_dict() for c in self.conditions]
            result["actions"] = [a.as_dict() for a in self.actions]
        return result
