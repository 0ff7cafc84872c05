"""The processing steps a callback and a reapply share: hooks, stored data, rules, the update.

Each step takes what it needs and returns what it produces; the callback
(:mod:`~metalscope.operations.callback`) and the reapply
(:mod:`~metalscope.operations.reapply`) chain them and decide what a failure means.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from metalscope.errors import MetalScopeError
from metalscope.fleet.summary import HardwareSummary, summarise
from metalscope.node_changes import NodeChanges
from metalscope.operations import resumable_flush
from metalscope.operations.ironic_wait import IronicWait
from metalscope.ramdisk_logs import save_ramdisk_logs
from metalscope.rules.engine import apply_rules_off_loop
from metalscope.rules.model import Rule
from metalscope.services import Services
from metalscope.storage.repository import utcnow

LOG = logging.getLogger(__name__)


def without_logs(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != "logs"}


def data_text(data: dict[str, Any]) -> str:
    """Introspection data as stored: compact JSON, without the ramdisk logs."""
    return json.dumps(without_logs(data), separators=(",", ":"))


def run_before_processing(svc: Services, data: dict[str, Any]) -> list[str]:
    """Every hook's first phase; failures are collected, not raised (spec 5.1 step 2)."""
    failures = []
    for name, hook in svc.extensions.hooks:
        try:
            hook.before_processing(data)
        except MetalScopeError as exc:
            failures.append(f"Preprocessing hook {name}: {exc}")
        except Exception as exc:  # a hook bug must not lose the node: report it as a failure line
            LOG.exception("Hook %s failed in before_processing", name)
            failures.append(f"Unexpected exception {type(exc).__name__} during preprocessing "
                            f"in hook {name}: {exc}")
    return failures


def run_before_update(svc: Services, data: dict[str, Any], changes: NodeChanges) -> None:
    for _name, hook in svc.extensions.hooks:
        hook.before_update(data, changes)


async def read_node(svc: Services, uuid: str, wait: IronicWait) -> dict[str, Any]:
    return await wait.call(lambda: svc.ironic.get_node(uuid), "reading the node")


async def read_ports(svc: Services, uuid: str, wait: IronicWait) -> list[dict[str, Any]]:
    return await wait.call(lambda: svc.ironic.list_node_ports(uuid), "reading the node's ports")


async def keep_processed(svc: Services, uuid: str, data: dict[str, Any]) -> str | None:
    """Store the processed data before the rules run (as upstream). A store other than the
    database gets it now; for the database the JSON text is returned, to be written with
    the record's final transition (``finished`` or ``error``)."""
    kept = await keep_processed_data(svc, uuid, data)
    return None if kept is None else data_text(kept)


async def keep_processed_data(svc: Services, uuid: str,
                              data: dict[str, Any]) -> dict[str, Any] | None:
    """As :func:`keep_processed`, but for the database the data itself (without the logs)
    is returned, for the finishing step to serialise after the answer: neither the rules
    nor anything after them change the data."""
    if not svc.data_store.enabled:
        return None
    if svc.data_store.in_repository:
        return without_logs(data)
    await svc.data_store.save(uuid, True, without_logs(data))
    return None


async def apply_rules_and_flush(svc: Services, rules: list[Rule], data: dict[str, Any],
                                changes: NodeChanges, wait: IronicWait, *,
                                diff: Mapping[str, Any] | None = None,
                                ) -> tuple[NodeChanges, list[Rule]]:
    """Apply the rules, then send every edit to Ironic; returns the changes as sent last
    and the rules that matched. ``diff`` is the hardware diff with the node's previous
    inspection, which ``diff://`` rule fields read (None when there is none)."""
    matched = await _apply_rules(svc, rules, data, changes, wait, diff)
    return await resumable_flush.flush(svc.ironic, changes, wait), matched


async def _apply_rules(svc: Services, rules: list[Rule], data: dict[str, Any],
                       changes: NodeChanges, wait: IronicWait,
                       diff: Mapping[str, Any] | None = None) -> list[Rule]:
    if not rules:
        return []
    try:
        matched = await apply_rules_off_loop(rules, data, changes, svc.extensions.conditions,
                                             svc.extensions.actions,
                                             svc.settings.processing.rule_regex_timeout,
                                             diff=diff)
        svc.metrics.rules_matched(matched)
    except MetalScopeError:
        # Upstream has already sent the edits made before a failing action; so do we.
        await resumable_flush.flush(svc.ironic, changes, wait)
        raise
    return matched


def hardware_summary(data: dict[str, Any], matched: Sequence[Rule] = ()) -> HardwareSummary:
    """The fleet's summary of processed ``data`` (never raises)."""
    return summarise(without_logs(data), rules=matched)


async def save_summary(svc: Services, uuid: str, name: Any,
                       summary: HardwareSummary | None) -> None:
    """Keep the node's hardware summary for the fleet pages, whatever ``store_data`` says;
    best effort: a failure is logged and the introspection goes on."""
    if summary is None:
        return
    try:
        await svc.repo.fleet.save_summary(uuid, name if isinstance(name, str) else None,
                                          summary, utcnow())
    except Exception as exc:
        LOG.warning("Failed to save the hardware summary of node %s: %s", uuid, exc)


async def save_data(svc: Services, uuid: str, processed: bool, data: dict[str, Any]) -> None:
    """Store a copy of the data, best effort (spec 9.2): a failure is logged."""
    try:
        await svc.data_store.save(uuid, processed, data)
    except Exception as exc:
        LOG.warning("Failed to store unprocessed data of node %s: %s", uuid, exc)


def save_logs(svc: Services, data: dict[str, Any], uuid: str | None) -> None:
    processing = svc.settings.processing
    save_ramdisk_logs(processing.ramdisk_logs_dir, processing.ramdisk_logs_filename_format,
                      data, uuid)
