"""A dry run of the rules for one node: what matches, why the others do not, and what
the matching rules' actions would change now.

The rules are evaluated against the processed data stored for the node and the node as
Ironic has it now, then the matching rules' actions run on a throwaway copy of the node.
Processing hooks are not run again, and nothing is written. ``diff://`` fields read the
hardware diff given (None: no previous inspection to compare with, the field is missing).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from metalscope.errors import MetalScopeError
from metalscope.extensions import ExtensionRegistry
from metalscope.hardware import compare
from metalscope.node_changes import NodeChanges
from metalscope.rules.engine import (
    condition_holds,
    field_values,
    in_scope,
    matching_rules,
    node_document,
    run_actions,
    split_field,
)
from metalscope.rules.exchange import rule_label
from metalscope.rules.model import Condition, Rule
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient
    from metalscope.storage.repository import Repository


@dataclass
class Verdict:
    """Whether one rule matches, and if not, why."""

    rule: Rule
    matched: bool
    reason: str | None = None


@dataclass
class DryRun:
    """What processing would do with the rules now: verdicts, a failure, pending changes."""

    verdicts: list[Verdict]
    changes: NodeChanges
    failure: str | None = None
    applied: list[str] = field(default_factory=list)


def describe_condition(cond: Condition) -> str:
    """``data://memory_mb ge 8192`` style text of a condition."""
    params = " ".join(repr(v) if k == "value" else f"{k}={v!r}" for k, v in cond.params.items())
    multiple = f" [{cond.multiple}]" if cond.multiple != "any" else ""
    return f"{cond.field} {'not ' if cond.invert else ''}{cond.op} {params}".rstrip() + multiple


def _shown(values: list[Any], limit: int = 5) -> str:
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def mismatch_reason(rule: Rule, data: dict[str, Any], node: NodeChanges,
                    node_doc: dict[str, Any], conditions: dict[str, Any],
                    diff: Mapping[str, Any] | None = None) -> str:
    """Why a rule does not match: its scope, or its first failing condition and the values."""
    if not in_scope(rule, node):
        scope = node.properties.get("inspection_scope")
        return (f"out of scope: the rule's scope is {rule.scope!r}, the node's "
                f"properties.inspection_scope is {scope!r}")
    for number, cond in enumerate(rule.conditions, 1):
        plugin = conditions.get(cond.op)
        if plugin is None:
            return f"condition {number} uses the unknown operator {cond.op}"
        if not condition_holds(cond, plugin, data, node_doc, diff=diff):
            values = field_values(cond.field, data, node_doc, diff)
            found = f"found {_shown(values)}" if values else _not_found(cond, diff)
            return f"condition {number} ({describe_condition(cond)}) is false: {found}"
    return "does not match"


def _not_found(cond: Condition, diff: Mapping[str, Any] | None) -> str:
    if diff is None and split_field(cond.field)[0] == "diff":
        return "there is no hardware diff (no previous inspection to compare with)"
    return "the field was not found"


def dry_run(stored: list[Rule], data: dict[str, Any], node: NodeChanges,
            extensions: ExtensionRegistry, *, diff: Mapping[str, Any] | None = None) -> DryRun:
    """Match the rules as processing does, then run the matching ones' actions on ``node``."""
    matched = matching_rules(stored, data, node, extensions.conditions, diff=diff)
    node_doc = node_document(node.node)
    result = DryRun([Verdict(rule, any(rule is m for m in matched)) for rule in stored], node)
    for verdict in result.verdicts:
        if not verdict.matched:
            verdict.reason = mismatch_reason(verdict.rule, data, node, node_doc,
                                             extensions.conditions, diff)
    for rule in matched:
        try:
            run_actions(rule, data, node, extensions.actions)
        except MetalScopeError as exc:
            result.failure = f"rule {rule_label(rule)}: {exc}"
            break
        result.applied.append(rule.uuid)
    return result


def pending_changes(node: NodeChanges) -> dict[str, Any]:
    """The changes a flush would send, as JSON-able data (ports named by MAC address)."""
    pending = node.pending
    by_uuid = {port.get("uuid"): address for address, port in node.ports.items()}
    return {
        "node_patch": pending.node_patch,
        "reset_interfaces": pending.reset_interfaces,
        "traits_added": pending.traits_added,
        "traits_removed": pending.traits_removed,
        "ports_created": [{"address": p.address, "extra": p.extra, "pxe_enabled": p.pxe_enabled,
                           "patch": p.ops} for p in pending.ports_created],
        "ports_patched": {by_uuid.get(uuid, uuid): ops
                          for uuid, ops in pending.ports_patched.items()},
        "ports_deleted": pending.ports_deleted,
    }


def dry_run_document(result: DryRun) -> dict[str, Any]:
    """The ``--json`` form of a dry run."""
    return {
        "node": result.changes.uuid,
        "matching": [{"uuid": v.rule.uuid, "description": v.rule.description}
                     for v in result.verdicts if v.matched],
        "not_matching": [{"uuid": v.rule.uuid, "description": v.rule.description,
                          "reason": v.reason} for v in result.verdicts if not v.matched],
        "failure": result.failure,
        "changes": pending_changes(result.changes),
    }


def _op_text(op: dict[str, Any]) -> str:
    value = f" = {json.dumps(op.get('value'))}" if op["op"] != "remove" else ""
    return f"{op['op']} {op['path']}{value}"


def change_lines(changes: dict[str, Any]) -> list[str]:
    lines = [f"  node: {_op_text(op)}" for op in changes["node_patch"]]
    if changes["reset_interfaces"]:
        lines.append("  node: the patch resets the hardware interfaces (driver change)")
    lines += [f"  trait added: {t}" for t in changes["traits_added"]]
    lines += [f"  trait removed: {t}" for t in changes["traits_removed"]]
    lines += [f"  port created: {p['address']}" for p in changes["ports_created"]]
    lines += [f"  port {address}: {_op_text(op)}"
              for address, ops in changes["ports_patched"].items() for op in ops]
    lines += [f"  port deleted: {uuid}" for uuid in changes["ports_deleted"]]
    return lines or ["  none: the node already has everything the matching rules set"]


def dry_run_lines(result: DryRun) -> list[str]:
    """The human-readable form of a dry run."""
    matched = [v for v in result.verdicts if v.matched]
    missed = [v for v in result.verdicts if not v.matched]
    lines = [f"Dry run of {len(result.verdicts)} rule(s) for node {result.changes.uuid} "
             "(nothing is changed)", f"Matching ({len(matched)}):"]
    lines += [f"  {rule_label(v.rule)}" for v in matched]
    lines.append(f"Not matching ({len(missed)}):")
    lines += [f"  {rule_label(v.rule)}: {v.reason}" for v in missed]
    if result.failure:
        lines.append(f"Processing would fail at {result.failure}")
    lines.append("Changes the matching rules would make now:")
    return lines + change_lines(pending_changes(result.changes))


@dataclass
class DryRunInputs:
    node: dict[str, Any]
    ports: list[dict[str, Any]]
    data: dict[str, Any] | None
    rules: list[Rule]
    #: The hardware diff of the node's last two inspections, when known.
    diff: dict[str, Any] | None = None


async def node_from_ironic(ironic: IronicClient,
                           node_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The node (by UUID or name) and its ports, as Ironic has them now."""
    node = await ironic.get_node(node_id)
    return node, await ironic.list_node_ports(str(node["uuid"]))


async def load_inputs(repo: Repository, node: dict[str, Any],
                      ports: list[dict[str, Any]]) -> DryRunInputs:
    """The inputs of a dry run: the node and its ports, its stored processed data (None when
    there is none), every rule, and the hardware diff of its last two recorded versions
    (None with fewer than two)."""
    uuid = str(node["uuid"])
    text = await repo.get_data(uuid, True)
    stored = await repo.list_rules()
    return DryRunInputs(node, ports, json.loads(text) if text else None, stored,
                        await last_diff(repo, uuid))


async def last_diff(repo: Repository, uuid: str) -> dict[str, Any] | None:
    """The diff document between the node's two newest history versions, if it has two."""
    newest = await repo.list_versions(uuid, limit=2)
    if len(newest) < 2:
        return None
    new = await repo.get_version(uuid, newest[0].version)
    old = await repo.get_version(uuid, newest[1].version)
    if new is None or old is None:  # pruned meanwhile
        return None
    return compare(old.processed, new.processed).document()


def no_data_message(settings: Settings, uuid: str) -> str:
    message = f"No processed introspection data is stored for node {uuid}; introspect it first"
    if settings.processing.store_data != "database":
        message += (f" ([processing]store_data is {settings.processing.store_data}, "
                    "set it to database to keep the data)")
    return message
