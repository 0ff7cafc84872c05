"""Creating exported rules in Ironic (``metalscope rules push-to-ironic``).

Each exported rule is created with ``POST /v1/inspection_rules`` unless Ironic already has
it (the same UUID, or the same content under another UUID, so a second push changes
nothing); Ironic's validation decides, and a refusal is reported with Ironic's reason
instead of stopping the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from metalscope.errors import IronicError
from metalscope.rules.ironic_export import RuleExport, already_there


class InspectionRulesApi(Protocol):
    """The two calls of :class:`~metalscope.ironic_client.IronicClient` a push makes."""

    async def list_inspection_rules(self) -> list[dict[str, Any]]: ...

    async def create_inspection_rule(self, rule: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class PushOutcome:
    """What became of one exported rule: ``created``, ``skipped`` or ``refused``."""

    label: str
    status: str
    message: str = ""


async def push_rules(ironic: InspectionRulesApi, exports: list[RuleExport]) -> list[PushOutcome]:
    """Create the exported rules that Ironic does not have yet, in order."""
    existing = await ironic.list_inspection_rules()
    outcomes = []
    for export in exports:
        if export.rule is None:
            continue
        reason = already_there(export.rule, existing)
        if reason is not None:
            outcomes.append(PushOutcome(export.label, "skipped", reason))
            continue
        try:
            created = await ironic.create_inspection_rule(export.rule)
        except IronicError as exc:
            if exc.status is None or exc.status >= 500:
                raise
            outcomes.append(PushOutcome(export.label, "refused", str(exc)))
            continue
        existing.append(created)
        outcomes.append(PushOutcome(export.label, "created"))
    return outcomes


def push_report(outcomes: list[PushOutcome]) -> list[str]:
    """One line per pushed rule, then the counts."""
    lines = [f"{o.status}: {o.label}" + (f": {o.message}" if o.message else "")
             for o in outcomes]
    counts = {s: sum(o.status == s for o in outcomes) for s in ("created", "skipped", "refused")}
    lines.append("Ironic: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    return lines
