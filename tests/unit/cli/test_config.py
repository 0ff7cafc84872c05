"""``metalscope config sample``: the sample configuration file on standard output."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from metalscope.cli import main
from metalscope.settings import render_sample_config


def test_sample_without_files_is_the_defaults() -> None:
    """With no configuration file the command prints the defaults' sample, unchanged."""
    result = CliRunner().invoke(main, ["config", "sample"])
    assert result.exit_code == 0, result.output
    assert result.output == render_sample_config(None)
    assert "\n[DEFAULT]\n" in result.output and "\n#listen_port = 5050\n" in result.output


def test_sample_shows_the_values_a_file_sets(tmp_path: Path) -> None:
    """Given a file, the sample shows the values it sets in place of the defaults."""
    conf = tmp_path / "inspector.conf"
    conf.write_text("[DEFAULT]\nlisten_port = 6060\n[processing]\nstore_data = database\n")
    result = CliRunner().invoke(main, ["config", "sample", "--config-file", str(conf)])
    assert result.exit_code == 0, result.output
    assert "\n#listen_port = 6060\n" in result.output
    assert "\n#listen_port = 5050\n" not in result.output


def test_an_invalid_file_is_one_line_and_status_1(tmp_path: Path) -> None:
    conf = tmp_path / "inspector.conf"
    conf.write_text("[DEFAULT]\nlisten_port = not-a-port\n")
    result = CliRunner().invoke(main, ["config", "sample", "--config-file", str(conf)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: Invalid configuration")
    assert "Traceback" not in result.output
