"""Rules CRUD (spec 2.4.10)."""

from __future__ import annotations

from typing import Any

from metalscope.errors import RuleNotFound
from metalscope.rules.model import Rule
from metalscope.rules.validation import parse_rule
from metalscope.services import Services


async def create_rule(svc: Services, body: dict[str, Any], *, allow_diff: bool = False) -> Rule:
    """Validate and store a rule; ``allow_diff`` (API 1.19 and later) accepts ``diff://``
    fields."""
    rule = parse_rule(body, svc.extensions.conditions, svc.extensions.actions,
                      allow_diff=allow_diff)
    return await svc.repo.create_rule(rule)


async def list_rules(svc: Services) -> list[Rule]:
    return await svc.repo.list_rules()


async def delete_all_rules(svc: Services) -> None:
    await svc.repo.delete_all_rules()


async def get_rule(svc: Services, uuid: str) -> Rule:
    rule = await svc.repo.get_rule(uuid)
    if rule is None:
        raise RuleNotFound(uuid)
    return rule


async def delete_rule(svc: Services, uuid: str) -> None:
    if not await svc.repo.delete_rule(uuid):
        raise RuleNotFound(uuid)
