"""The checks of ``ironic-inspector-status upgrade check``: what each finding means.

Each check turns what the command found (read by :mod:`metalscope.cli.upstream.status`:
the files read, the database's revisions, an answer from Ironic, the options set) into a
:class:`CheckResult` with oslo.upgradecheck's codes. The command exits with the worst code
(:func:`worst`): 0 success, 1 warning (the upgrade may go ahead, read the details), 2
failure (fix it first).

A database that ``ironic-inspector-dbsync upgrade`` would bring to MetalScope's head (empty,
ironic-inspector's own at a known revision, or MetalScope's at an older revision) is a
warning, not a failure: the check is meant to run before the upgrade, when the database is
still ironic-inspector's. A database nothing can upgrade (unknown revisions, a half-migrated
schema) or that cannot be read is a failure.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class Code(enum.IntEnum):
    """oslo.upgradecheck's result codes, which are also the exit statuses."""

    SUCCESS = 0
    WARNING = 1
    FAILURE = 2

    @property
    def label(self) -> str:
        return self.name.capitalize()


@dataclass(frozen=True)
class CheckResult:
    check: str
    code: Code
    details: str | None = None


CONFIGURATION = "Configuration"
DATABASE = "Database schema"
IRONIC = "Ironic API access"
DATA_STORE = "Introspection data store"
IGNORED_OPTIONS = "Options MetalScope ignores"


def configuration_check(files: Sequence[str], error: str | None = None) -> CheckResult:
    """The configuration loaded (from ``files``), or ``error`` when it did not."""
    if error is not None:
        return CheckResult(CONFIGURATION, Code.FAILURE, error)
    where = ", ".join(files) if files else "no file found, ironic-inspector's defaults apply"
    return CheckResult(CONFIGURATION, Code.SUCCESS, f"Read from {where}")


def database_check(revisions: str, problem: str | None, upgradable: bool) -> CheckResult:
    """``revisions`` says what the database records; ``problem`` is None at MetalScope's
    head, else what is wrong, which ``upgradable`` says ``dbsync upgrade`` fixes."""
    if problem is None:
        return CheckResult(DATABASE, Code.SUCCESS, revisions)
    if upgradable:
        return CheckResult(DATABASE, Code.WARNING,
                           f"{revisions}. {problem} (ironic-inspector-dbsync upgrade does the "
                           f"same.)")
    return CheckResult(DATABASE, Code.FAILURE, problem)


def database_unreadable(error: str) -> CheckResult:
    return CheckResult(DATABASE, Code.FAILURE, error)


def ironic_check(api_version: str | None, error: str | None = None) -> CheckResult:
    """An authenticated request to Ironic answered (at ``api_version``), or ``error``."""
    if error is not None:
        return CheckResult(IRONIC, Code.FAILURE, error)
    return CheckResult(IRONIC, Code.SUCCESS,
                       f"Ironic answered with the configured [ironic] credentials (API "
                       f"version {api_version})")


def data_store_check(store: str, found: str | None, error: str | None = None) -> CheckResult:
    """``[processing]store_data = store``: what a request to a remote store found, or
    ``error`` when the store cannot be built or reached. A store kept in the database (or
    none) needs no request (``found`` None)."""
    if error is not None:
        return CheckResult(DATA_STORE, Code.FAILURE, error)
    where = found or ("nothing is stored" if store == "none" else "kept in the database")
    return CheckResult(DATA_STORE, Code.SUCCESS, f"store_data = {store}: {where}")


def ignored_options_check(notes: Iterable[str]) -> CheckResult:
    """One note per option the files set that MetalScope does not act on."""
    found = list(notes)
    if not found:
        return CheckResult(IGNORED_OPTIONS, Code.SUCCESS)
    return CheckResult(IGNORED_OPTIONS, Code.WARNING, "; ".join(found))


def worst(results: Iterable[CheckResult]) -> Code:
    """The exit status: the highest code of all the results."""
    return max((result.code for result in results), default=Code.SUCCESS)
