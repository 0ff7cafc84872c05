"""``metalscope data migrate``: refusals and configuration problems, each one line (copies
between the database and a real Swift are in tests/integration/test_swift_store.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metalscope.cli import main
from metalscope.cli.data import REFUSED, run_migration
from metalscope.settings import load_settings


def test_unknown_store_is_refused_naming_the_stores() -> None:
    result = CliRunner().invoke(main, ["data", "migrate", "--from", "none", "--to", "swift"])
    assert result.exit_code == 2
    assert "'none' is not one of 'database', 'swift'" in result.output


@pytest.mark.parametrize(("source", "target", "message"), [
    ("s3", "database", "Cannot migrate data with the 's3' store: the stores are database and "
                       "swift"),
    ("database", "none", "Cannot migrate data with the 'none' store: the stores are database "
                         "and swift"),
    ("swift", "swift", "Source and destination can not be the same."),
])
def test_run_migration_refusals(source: str, target: str, message: str) -> None:
    lines: list[str] = []
    assert run_migration(load_settings(), source, target, lines.append) == REFUSED
    assert lines == [message]


def test_missing_schema_is_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "inspector.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'none.sqlite'}\n")
    result = CliRunner().invoke(main, ["data", "migrate", "--from", "database", "--to", "swift",
                                       "--config-file", str(conf)])
    assert result.exit_code == 1
    assert len(result.output.splitlines()) == 1 and "metalscope db upgrade" in result.output


def test_invalid_swift_options_are_one_line(tmp_path: Path) -> None:
    conf = tmp_path / "inspector.conf"
    conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n")
    assert CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)]).exit_code == 0
    result = CliRunner().invoke(main, ["data", "migrate", "--from", "database", "--to", "swift",
                                       "--config-file", str(conf)])
    assert result.exit_code == 1
    assert result.output == ("Invalid [swift] authentication options: Auth plugin requires "
                             "parameters which were not given: auth_url\n")
