"""``metalscope rules``: export, import, conversion of Ironic's rules, and a dry run.

* ``export`` prints every rule as a JSON list in the API's full form (without ``links``),
  oldest first, which ``import`` reads back; ``--format ironic`` prints Ironic's
  ``/v1/inspection_rules`` format instead (:mod:`metalscope.rules.ironic_export`), with the
  report of what cannot be expressed, and ``push-to-ironic`` creates those rules in Ironic.
* ``import FILE`` creates the rules of a JSON list (or one object) in the API's format,
  each validated exactly as ``POST /v1/rules`` does; a rule whose UUID exists is skipped.
  ``--from-ironic`` reads Ironic's ``/v1/inspection_rules`` format instead (see
  :mod:`metalscope.rules.ironic_format`). ``--replace`` deletes every rule first, and changes
  nothing at all when a rule of the file is invalid.
* ``convert FILE`` only prints the conversion of Ironic rules and its report.
* ``test --node ID`` is the dry run of :mod:`metalscope.rules.dry_run`: what matches the
  node's stored data, what does not (with the first failing condition) and what the actions
  would change now. Nothing is written.

The commands read the same configuration file as ``serve`` and exit with status 1 when a
rule was invalid or could not be converted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from metalscope.cli.options import config_options
from metalscope.cli.options import load_cli_settings as load
from metalscope.errors import ConfigurationError, MetalScopeError
from metalscope.extensions import ExtensionRegistry
from metalscope.node_changes import NodeChanges
from metalscope.rules import exchange
from metalscope.rules.dry_run import (
    DryRunInputs,
    dry_run,
    dry_run_document,
    dry_run_lines,
    load_inputs,
    no_data_message,
    node_from_ironic,
)
from metalscope.rules.exchange import Candidate, RulesFileError, dump
from metalscope.rules.ironic_export import RuleExport, export_rules, exported_document
from metalscope.rules.ironic_export import format_report as export_report
from metalscope.rules.ironic_format import RuleConversion, format_report
from metalscope.rules.ironic_push import PushOutcome, push_report, push_rules
from metalscope.rules.model import Rule
from metalscope.settings import Settings
from metalscope.wiring import open_ironic, open_repository


@contextmanager
def reported() -> Iterator[None]:
    """A configuration problem or an unreadable rules file is a one-line error."""
    try:
        yield
    except (ConfigurationError, RulesFileError) as exc:
        raise click.ClickException(str(exc)) from exc


def registry(settings: Settings) -> ExtensionRegistry:
    with reported():
        return ExtensionRegistry.from_settings(settings)


def read(file: IO[str], allow_yaml: bool = False) -> Any:
    with reported():
        return exchange.read_document(file, allow_yaml)


def convert(document: Any) -> list[RuleConversion]:
    with reported():
        return exchange.conversions(document)


@click.group("rules")
def rules() -> None:
    """Introspection rules: export, import, convert Ironic's rules, dry runs."""


# -- export ---------------------------------------------------------------------------------------
async def _list_rules(settings: Settings) -> list[Rule]:
    async with open_repository(settings) as repo:
        return await repo.list_rules()


@rules.command("export")
@config_options
@click.option("--format", "output_format", type=click.Choice(["metalscope", "ironic"]),
              default="metalscope", show_default=True,
              help="metalscope: the API's format, which `import` reads; ironic: Ironic's "
                   "/v1/inspection_rules format (the report goes to standard error).")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-",
              help="Write the rules to this file instead of standard output.")
def export_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...],
                   output_format: str, output: IO[str]) -> None:
    """Print every rule as a JSON list (the API's format, or Ironic's), oldest first.

    With --format ironic, a rule with any part Ironic cannot express is left out and the
    report says why; the exit status is then 1.
    """
    settings = load(config_files, config_dirs)
    with reported():
        stored = asyncio.run(_list_rules(settings))
    if output_format == "metalscope":
        click.echo(dump(exchange.export_document(stored)), file=output)
        return
    exports = export_rules(stored)
    click.echo(dump(exported_document(exports)), file=output)
    click.echo("\n".join(export_report(exports)), err=True)
    if not all(e.exported for e in exports):
        raise click.exceptions.Exit(1)


async def _push(settings: Settings, exports: list[RuleExport]) -> list[PushOutcome]:
    async with open_ironic(settings) as ironic:
        return await push_rules(ironic, exports)


@rules.command("push-to-ironic")
@config_options
def push_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...]) -> None:
    """Create every rule Ironic can express in Ironic's /v1/inspection_rules ([ironic]).

    Rules Ironic already has (same UUID or same content) are skipped; the report lists the
    rules that cannot be exported and why. The exit status is 1 when a rule was not
    exported or Ironic refused one.
    """
    settings = load(config_files, config_dirs)
    with reported():
        stored = asyncio.run(_list_rules(settings))
    exports = export_rules(stored)
    click.echo("\n".join(export_report(exports)))
    try:
        outcomes = asyncio.run(_push(settings, exports))
    except MetalScopeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("\n".join(push_report(outcomes)))
    if not all(e.exported for e in exports) or any(o.status == "refused" for o in outcomes):
        raise click.exceptions.Exit(1)


# -- import ---------------------------------------------------------------------------------------
async def _import(settings: Settings, candidates: list[Candidate], replace: bool) -> None:
    async with open_repository(settings) as repo:
        await exchange.store_candidates(repo, candidates, replace)


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
    document = read(file, allow_yaml=from_ironic)
    if from_ironic:
        conversions = convert(document)
        click.echo("\n".join(format_report(conversions)))
        candidates = exchange.converted_candidates(conversions, extensions)
    else:
        with reported():
            bodies = exchange.rule_bodies(document)
        candidates = exchange.parse_candidates(bodies, extensions)
    refused = [c for c in candidates if c.rule is None]
    if replace and refused:
        click.echo("\n".join(exchange.import_report(candidates)))
        raise click.ClickException(f"Nothing was changed: {len(refused)} rule(s) cannot be "
                                   "imported and --replace would delete the existing rules")
    with reported():
        asyncio.run(_import(settings, candidates, replace))
    click.echo("\n".join(exchange.import_report(candidates)))
    if refused:
        raise click.exceptions.Exit(1)


# -- convert --------------------------------------------------------------------------------------
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
    conversions = convert(read(file, allow_yaml=True))
    exchange.validate_conversions(conversions, extensions)
    click.echo(dump([c.rule for c in conversions if c.rule is not None]))
    click.echo("\n".join(format_report(conversions)), err=True)
    if not all(c.converted for c in conversions):
        raise click.exceptions.Exit(1)


# -- test (dry run) -------------------------------------------------------------------------------
def read_diff(file: IO[str]) -> dict[str, Any]:
    """The hardware diff document of ``rules test --diff``: a JSON object."""
    document = read(file)
    if not isinstance(document, dict):
        raise click.ClickException(f"{file.name} is not a hardware diff: expected a JSON object")
    return document


async def _inputs(settings: Settings, node_id: str) -> DryRunInputs:
    async with open_ironic(settings) as ironic:
        node, ports = await node_from_ironic(ironic, node_id)
    async with open_repository(settings) as repo:
        return await load_inputs(repo, node, ports)


@rules.command("test")
@config_options
@click.option("--node", "node_id", required=True, help="The node's UUID or name.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--diff", "diff_file", type=click.File("r"), default=None,
              help="A hardware diff document (JSON) for diff:// fields; without it they "
                   "read the diff of the node's last two inspections when known.")
def test_command(config_files: tuple[str, ...], config_dirs: tuple[str, ...], node_id: str,
                 as_json: bool, diff_file: IO[str] | None) -> None:
    """Dry run: which rules match the node's stored data and what they would change."""
    diff = read_diff(diff_file) if diff_file is not None else None
    settings = load(config_files, config_dirs)
    extensions = registry(settings)
    try:
        inputs = asyncio.run(_inputs(settings, node_id))
    except MetalScopeError as exc:
        raise click.ClickException(str(exc)) from exc
    uuid = str(inputs.node["uuid"])
    if inputs.data is None:
        raise click.ClickException(no_data_message(settings, uuid))
    result = dry_run(inputs.rules, inputs.data, NodeChanges(inputs.node, inputs.ports),
                     extensions, diff=diff if diff is not None else inputs.diff)
    click.echo(dump(dry_run_document(result)) if as_json else "\n".join(dry_run_lines(result)))
