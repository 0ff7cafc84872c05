"""``ironic-inspector-status upgrade check``: findings to codes, and oslo.upgradecheck's output."""

from __future__ import annotations

import json

from metalscope import upgrade_checks as checks
from metalscope.cli.upstream.status import render_json, render_table
from metalscope.upgrade_checks import CheckResult, Code


def test_configuration() -> None:
    assert checks.configuration_check(["/etc/a.conf", "/etc/b.conf"]) == CheckResult(
        "Configuration", Code.SUCCESS, "Read from /etc/a.conf, /etc/b.conf")
    assert checks.configuration_check([]).details == (
        "Read from no file found, ironic-inspector's defaults apply")
    assert checks.configuration_check([], "bad").code is Code.FAILURE


def test_database_at_head_needing_upgrade_or_broken() -> None:
    assert checks.database_check("r", None, upgradable=False).code is Code.SUCCESS
    needs = checks.database_check("MetalScope: none", "run upgrade", upgradable=True)
    assert needs.code is Code.WARNING and "ironic-inspector-dbsync upgrade" in str(needs.details)
    assert checks.database_check("r", "unknown revision", upgradable=False).code is Code.FAILURE
    assert checks.database_unreadable("cannot connect").code is Code.FAILURE


def test_ironic_and_ignored_options() -> None:
    assert checks.ironic_check("1.99").code is Code.SUCCESS
    assert checks.ironic_check(None, "Cannot reach Ironic").code is Code.FAILURE
    assert checks.ignored_options_check([]) == CheckResult("Options MetalScope ignores",
                                                           Code.SUCCESS)
    ignored = checks.ignored_options_check(["[a]b is ignored: x", "[c]d is ignored: y"])
    assert ignored.code is Code.WARNING and ignored.details == (
        "[a]b is ignored: x; [c]d is ignored: y")


def test_data_store() -> None:
    assert checks.data_store_check("database", None) == checks.CheckResult(
        checks.DATA_STORE, checks.Code.SUCCESS, "store_data = database: kept in the database")
    assert checks.data_store_check("none", None).details == "store_data = none: nothing is stored"
    assert checks.data_store_check("swift", "Swift answered").details == \
        "store_data = swift: Swift answered"
    assert checks.data_store_check("swift", None, "Could not connect").code == checks.Code.FAILURE


def test_worst_is_the_exit_status() -> None:
    ok, warn, fail = (CheckResult("x", code) for code in Code)
    assert checks.worst([]) is Code.SUCCESS
    assert checks.worst([ok, warn]) is Code.WARNING
    assert checks.worst([warn, fail, ok]) is Code.FAILURE


def test_table_as_oslo_upgradecheck_prints_it() -> None:
    """Title row, one row per check, details wrapped at 60 with a two-space indent
    (the text oslo.upgradecheck 2.8 prints for the same results)."""
    results = [CheckResult("Config loads", Code.SUCCESS),
               CheckResult("Warn one", Code.WARNING,
                           "some long details text here to see how wrapping works in the "
                           "table output of the check command, should wrap at 60 chars")]
    assert render_table(results) == "\n".join([
        "+-----------------------------------------------------------------------+",
        "| Upgrade Check Results                                                 |",
        "+-----------------------------------------------------------------------+",
        "| Check: Config loads                                                   |",
        "| Result: Success                                                       |",
        "| Details: None                                                         |",
        "+-----------------------------------------------------------------------+",
        "| Check: Warn one                                                       |",
        "| Result: Warning                                                       |",
        "| Details: some long details text here to see how wrapping works in the |",
        "|   table output of the check command, should wrap at 60 chars          |",
        "+-----------------------------------------------------------------------+",
    ])


def test_json_document() -> None:
    document = json.loads(render_json([CheckResult("a", Code.FAILURE, "why")]))
    assert document == {"name": "Upgrade Check Results",
                        "checks": [{"check": "a", "result": 2, "details": "why"}]}
