"""Rules in and out of files: export, import and the conversion of Ironic's rules.

* :func:`export_document` is every rule as a JSON list in the API's full form (without
  ``links``), oldest first, which an import reads back.
* An import reads a JSON list (or one object) in the API's format, validates each rule
  exactly as ``POST /v1/rules`` does (:func:`parse_candidates`), or converts Ironic's
  ``/v1/inspection_rules`` format first (:func:`converted_candidates`); then
  :func:`store_candidates` creates the valid ones, skipping a rule whose UUID exists, and
  :func:`import_report` says what became of each.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

import yaml

from metalscope.errors import Conflict, RuleValidationError
from metalscope.extensions import ExtensionRegistry
from metalscope.rules.ironic_format import RuleConversion, convert_document
from metalscope.rules.model import Rule
from metalscope.rules.validation import parse_rule

if TYPE_CHECKING:
    from metalscope.storage.repository import Repository


class RulesFileError(ValueError):
    """A rules file that cannot be read as a whole (not JSON, not a list of rules...)."""


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
        raise RulesFileError(f"{stream.name} is not valid JSON: {exc}") from exc


def dump(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=False)


def rule_label(rule: Rule) -> str:
    return f"{rule.uuid} ({rule.description})" if rule.description else rule.uuid


# -- export ---------------------------------------------------------------------------------------
def export_document(stored: list[Rule]) -> list[dict[str, Any]]:
    """Every rule in the API's full form without ``links``, in creation order."""
    return [{k: v for k, v in rule.as_dict().items() if k != "links"} for rule in stored]


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
        raise RulesFileError("Expected a JSON list of rules or a single rule object")
    return [{k: v for k, v in body.items() if k != "links"} if isinstance(body, dict) else body
            for body in document]


def body_label(body: Any, index: int) -> str:
    if not isinstance(body, dict):
        return f"#{index}"
    name = body.get("uuid") or f"#{index}"
    return f"{name} ({body['description']})" if body.get("description") else str(name)


def parse_candidates(bodies: list[Any], extensions: ExtensionRegistry) -> list[Candidate]:
    """Validate every body as ``POST /v1/rules`` does at the latest API version
    (``diff://`` fields accepted)."""
    candidates = []
    for index, body in enumerate(bodies, 1):
        candidate = Candidate(body_label(body, index))
        try:
            candidate.rule = parse_rule(body, extensions.conditions, extensions.actions,
                                        allow_diff=True)
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


# -- conversion of Ironic's rules -----------------------------------------------------------------
def conversions(document: Any) -> list[RuleConversion]:
    """Ironic's rules in ``document`` converted, one result each."""
    try:
        return convert_document(document)
    except ValueError as exc:
        raise RulesFileError(str(exc)) from exc


def validate_conversions(converted: list[RuleConversion],
                         extensions: ExtensionRegistry) -> None:
    """Un-convert any result that MetalScope's own validation refuses, with its message."""
    for conversion in converted:
        if conversion.rule is None:
            continue
        try:
            parse_rule(conversion.rule, extensions.conditions, extensions.actions,
                       allow_diff=True)
        except RuleValidationError as exc:
            conversion.problems.append(f"MetalScope refuses the converted rule: {exc}")
            conversion.rule = None
