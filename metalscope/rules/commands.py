"""``metalscope rules``: export, import, conversion of Ironic's rules, and a dry run.

* ``export`` prints every rule as a JSON list in the API's full form (without ``links``),
  oldest first, which ``import`` reads back.
* ``import FILE`` creates the rules of a JSON list (or one object) in the API's format,
  each validated exactly as ``POST /v1/rules`` does; a rule whose UUID exists is skipped.
  ``--from-ironic`` reads Ironic's ``/v1/inspection_rules`` format instead (see
  :mod:`metalscope.rules.ironic_format`). ``--replace`` deletes every rule first, and changes
  nothing at all when a rule of the file is invalid.
* ``convert FILE`` only prints the conversion of Ironic rules and its report.
* ``test --node ID`` evaluates every rule against the processed data stored for the node
  and the node as Ironic has it now, then runs the matching rules' actions on a throwaway
  copy, and prints what matches, what does not (with the first failing condition) and what
  the actions would change now. Processing hooks are not run again, and nothing is written.

The commands read the same configuration file as ``serve`` and exit with status 1 when a
rule was invalid or could not be converted.
"""

from __future__ import annotations

import asyncio
import json
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import click
import yaml

from metalscope.cli_options import config_options
from metalscope.cli_options import load_cli_settings as load
from metalscope.errors import ConfigurationError, Conflict, MetalScopeError, RuleValidationError
from metalscope.extensions import ExtensionRegistry
from metalscope.ironic_client import IronicClient
from metalscope.node_changes import NodeChanges
from metalscope.rules.engine import (
    condition_holds,
    field_values,
    in_scope,
    matching_rules,
    node_document,
    run_actions,
)
from metalscope.rules.ironic_format import RuleConversion, convert_document, format_report
from metalscope.rules.model import Condition, Rule
from metalscope.rules.validation import parse_rule
from metalscope.settings import Settings
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine, pool_options
from metalscope.storage.repository import Repository


def registry(settings: Settings) -> ExtensionRegistry:
    try:
        return ExtensionRegistry.from_settings(settings)
    except ConfigurationError as exc:
        raise click.ClickException(str(exc)) from exc


@asynccontextmanager
async def open_repository(settings: Settings) -> AsyncIterator[Repository]:
    """The repository on ``[database]connection``, once the schema is known to be current."""
    problem = migrate.schema_problem(settings.database.connection)
    if problem is not None:
        raise click.ClickException(problem)
    engine = create_engine(settings.database.connection, pool_options(settings.database))
    try:
        yield Repository(engine)
    finally:
        await engine.dispose()


def read_document(stream: IO[str], allow_yaml: bool = False) -> Any:
    """The JSON (or, for Ironic's built-in rules files, YAML) document in the file."""
    text = stream.read()
    try:
        return json.loads(text)
    except ValueError as exc:
        if allow_yaml:
            try:
                return yaml.safe_load(text)
            except yaml.YAMLError:
                pass
        raise click.ClickException(f"{stream.name} is not valid JSON: {exc}") from exc


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


@click.group("rules")
def rules() -> None:
    """Introspection rules: export, import, convert Ironic's rules, dry runs."""


# -- export ---------------------------------------------------------------------------------------
def export_document(stored: list[Rule]) -> list[dict[str, Any]]:
    """Every rule in the API's full form without ``links``, in creation order."""
    return [{k: v for k, v in rule.as_dict().items() if k != "links"} for rule in stored]


async def _list_rules(settings: Settings) -> list[Rule]:
    async with open_repository(settings) as repo:
        return await repo.list_rules()


@rules.command("export")
@config_options
def export_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Print every rule as a JSON list (the API's format), oldest first."""
    settings = load(config_files, config_dirs)
    click.echo(dump(export_document(asyncio.run(_list_rules(settings)))))


# -- import ---------------------------------------------------------------------------------------
@dataclass
class Candidate:
    """One rule of the file: its label, and the parsed rule or why there is none."""

    label: str
    rule: Rule | None = None
    status: str = ""  # "invalid" or "not converted" when rule is None, then the outcome
    message: str = ""


def rule_bodies(document: Any) -> list[Any]:
    """The rule objects of a JSON list or of a single object, ``links`` dropped."""
    if isinstance(document, dict):
        document = [document]
    if not isinstance(document, list):
        raise click.ClickException("Expected a JSON list of rules or a single rule object")
    return [{k: v for k, v in body.items() if k != "links"} if isinstance(body, dict) else body
            for body in document]


def body_label(body: Any, index: int) -> str:
    if not isinstance(body, dict):
        return f"#{index}"
    name = body.get("uuid") or f"#{index}"
    return f"{name} ({body['description']})" if body.get("description") else str(name)


def parse_candidates(bodies: list[Any], extensions: ExtensionRegistry) -> list[Candidate]:
    """Validate every body as ``POST /v1/rules`` does."""
    candidates = []
    for index, body in enumerate(bodies, 1):
        candidate = Candidate(body_label(body, index))
        try:
            candidate.rule = parse_rule(body, extensions.conditions, extensions.actions)
            candidate.label = rule_label(candidate.rule)  # a generated UUID included
        except RuleValidationError as exc:
            candidate.status, candidate.message = "invalid", str(exc)
        candidates.append(candidate)
    return candidates


def converted_candidates(conversions: list[RuleConversion],
                         extensions: ExtensionRegistry) -> list[Candidate]:
    """Candidates from converted Ironic rules; unconverted ones carry their problems."""
    candidates = []
    for conversion in conversions:
        if conversion.rule is None:
            candidates.append(Candidate(conversion.label, status="not converted",
                                        message="; ".join(conversion.problems)))
            continue
        candidate = parse_candidates([conversion.rule], extensions)[0]
        if candidate.rule is None:
            candidate.label = conversion.label
        candidates.append(candidate)
    return candidates


async def store_candidates(repo: Repository, candidates: list[Candidate],
                           replace: bool) -> None:
    """Create the valid rules in order (after deleting all rules with ``replace``)."""
    if replace:
        await repo.delete_all_rules()
    for candidate in candidates:
        if candidate.rule is None:
            continue
        try:
            await repo.create_rule(candidate.rule)
            candidate.status, candidate.message = "created", candidate.rule.uuid
        except Conflict as exc:
            candidate.status, candidate.message = "skipped", str(exc)


async def _import(settings: Settings, candidates: list[Candidate], replace: bool) -> None:
    async with open_repository(settings) as repo:
        await store_candidates(repo, candidates, replace)


def import_report(candidates: list[Candidate]) -> list[str]:
    """One entry per rule, then the counts; the lines after the first of a message (the
    detail of a schema error) are indented under their entry."""
    lines = [f"{c.status}: {c.label}: {_indented(c.message)}" if c.status != "created"
             else f"created: {c.label}" for c in candidates]
    counts = {s: sum(c.status == s for c in candidates)
              for s in ("created", "skipped", "invalid", "not converted")}
    lines.append(", ".join(f"{n} {s}" for s, n in counts.items() if n or s == "created"))
    return lines


def _indented(message: str) -> str:
    return textwrap.indent(message, "    ")[4:] if message else message


@rules.command("import")
@config_options
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--replace", is_flag=True,
              help="Delete every existing rule first (nothing changes if a rule is invalid).")
@click.option("--from-ironic", is_flag=True,
              help="FILE holds Ironic inspection rules (/v1/inspection_rules JSON or a "
                   "built-in rules YAML file); convert them first.")
def import_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...], file: IO[str],
                   replace: bool, from_ironic: bool) -> None:
    """Create the rules in FILE (a JSON list or one object, the API's format; - for stdin)."""
    settings = load(config_files, config_dirs)
    extensions = registry(settings)
    document = read_document(file, allow_yaml=from_ironic)
    if from_ironic:
        conversions = _conversions(document)
        click.echo("\n".join(format_report(conversions)))
        candidates = converted_candidates(conversions, extensions)
    else:
        candidates = parse_candidates(rule_bodies(document), extensions)
    refused = [c for c in candidates if c.rule is None]
    if replace and refused:
        click.echo("\n".join(import_report(candidates)))
        raise click.ClickException(f"Nothing was changed: {len(refused)} rule(s) cannot be "
                                   "imported and --replace would delete the existing rules")
    asyncio.run(_import(settings, candidates, replace))
    click.echo("\n".join(import_report(candidates)))
    if refused:
        raise click.exceptions.Exit(1)


# -- convert --------------------------------------------------------------------------------------
def _conversions(document: Any) -> list[RuleConversion]:
    try:
        return convert_document(document)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc


def validate_conversions(conversions: list[RuleConversion],
                         extensions: ExtensionRegistry) -> None:
    """Un-convert any result that MetalScope's own validation refuses, with its message."""
    for conversion in conversions:
        if conversion.rule is None:
            continue
        try:
            parse_rule(conversion.rule, extensions.conditions, extensions.actions)
        except RuleValidationError as exc:
            conversion.problems.append(f"MetalScope refuses the converted rule: {exc}")
            conversion.rule = None


@rules.command("convert")
@config_options
@click.argument("file", type=click.File("r", encoding="utf-8"))
def convert_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...],
                    file: IO[str]) -> None:
    """Convert Ironic inspection rules in FILE to MetalScope rules.

    The converted rules are printed as a JSON list that `metalscope rules import` reads; the
    report (what could not be converted and why) goes to standard error. The exit status is
    1 when a rule could not be converted.
    """
    extensions = registry(load(config_files, config_dirs))
    conversions = _conversions(read_document(file, allow_yaml=True))
    validate_conversions(conversions, extensions)
    click.echo(dump([c.rule for c in conversions if c.rule is not None]))
    click.echo("\n".join(format_report(conversions)), err=True)
    if not all(c.converted for c in conversions):
        raise click.exceptions.Exit(1)


# -- test (dry run) -------------------------------------------------------------------------------
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


def rule_label(rule: Rule) -> str:
    return f"{rule.uuid} ({rule.description})" if rule.description else rule.uuid


def describe_condition(cond: Condition) -> str:
    """``data://memory_mb ge 8192`` style text of a condition."""
    params = " ".join(repr(v) if k == "value" else f"{k}={v!r}" for k, v in cond.params.items())
    multiple = f" [{cond.multiple}]" if cond.multiple != "any" else ""
    return f"{cond.field} {'not ' if cond.invert else ''}{cond.op} {params}".rstrip() + multiple


def _shown(values: list[Any], limit: int = 5) -> str:
    text = ", ".join(repr(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


def mismatch_reason(rule: Rule, data: dict[str, Any], node: NodeChanges,
                    node_doc: dict[str, Any], conditions: dict[str, Any]) -> str:
    """Why a rule does not match: its scope, or its first failing condition and the values."""
    if not in_scope(rule, node):
        scope = node.properties.get("inspection_scope")
        return (f"out of scope: the rule's scope is {rule.scope!r}, the node's "
                f"properties.inspection_scope is {scope!r}")
    for number, cond in enumerate(rule.conditions, 1):
        plugin = conditions.get(cond.op)
        if plugin is None:
            return f"condition {number} uses the unknown operator {cond.op}"
        if not condition_holds(cond, plugin, data, node_doc):
            values = field_values(cond.field, data, node_doc)
            found = f"found {_shown(values)}" if values else "the field was not found"
            return f"condition {number} ({describe_condition(cond)}) is false: {found}"
    return "does not match"


def dry_run(stored: list[Rule], data: dict[str, Any], node: NodeChanges,
            extensions: ExtensionRegistry) -> DryRun:
    """Match the rules as processing does, then run the matching ones' actions on ``node``."""
    matched = matching_rules(stored, data, node, extensions.conditions)
    node_doc = node_document(node.node)
    result = DryRun([Verdict(rule, any(rule is m for m in matched)) for rule in stored], node)
    for verdict in result.verdicts:
        if not verdict.matched:
            verdict.reason = mismatch_reason(verdict.rule, data, node, node_doc,
                                             extensions.conditions)
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


async def load_inputs(settings: Settings, node_id: str) -> DryRunInputs:
    """The node and its ports from Ironic; its stored processed data and the rules."""
    client = IronicClient.from_settings(settings)
    try:
        node = await client.get_node(node_id)
        ports = await client.list_node_ports(str(node["uuid"]))
    finally:
        await client.aclose()
    async with open_repository(settings) as repo:
        text = await repo.get_data(str(node["uuid"]), True)
        stored = await repo.list_rules()
    return DryRunInputs(node, ports, json.loads(text) if text else None, stored)


def _no_data_message(settings: Settings, uuid: str) -> str:
    message = f"No processed introspection data is stored for node {uuid}; introspect it first"
    if settings.processing.store_data != "database":
        message += (f" ([processing]store_data is {settings.processing.store_data}, "
                    "set it to database to keep the data)")
    return message


@rules.command("test")
@config_options
@click.option("--node", "node_id", required=True, help="The node's UUID or name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def test_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...], node_id: str,
                 as_json: bool) -> None:
    """Dry run: which rules match the node's stored data and what they would change."""
    settings = load(config_files, config_dirs)
    extensions = registry(settings)
    try:
        inputs = asyncio.run(load_inputs(settings, node_id))
    except MetalScopeError as exc:
        raise click.ClickException(str(exc)) from exc
    uuid = str(inputs.node["uuid"])
    if inputs.data is None:
        raise click.ClickException(_no_data_message(settings, uuid))
    result = dry_run(inputs.rules, inputs.data, NodeChanges(inputs.node, inputs.ports),
                     extensions)
    click.echo(dump(dry_run_document(result)) if as_json else "\n".join(dry_run_lines(result)))
