"""Finding the Ironic virtual environment of ``metalscope demo``, in a checkout or not."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from metalscope.cli import main
from metalscope.testing.ironic_venv import IronicVenvNotFound, find_ironic_venv


def make_venv(path: Path, commands: tuple[str, ...] = ("ironic", "ironic-dbsync")) -> Path:
    (path / "bin").mkdir(parents=True)
    for command in commands:
        (path / "bin" / command).write_text("#!/bin/sh\n")
    return path


def test_named_venv_is_used(tmp_path: Path) -> None:
    venv = make_venv(tmp_path / "elsewhere")
    assert find_ironic_venv(venv, tmp_path / "cwd", tmp_path / "prefix") == venv


def test_named_venv_without_ironic_is_refused_even_if_another_has_it(tmp_path: Path) -> None:
    make_venv(tmp_path / ".venv-ironic")
    named = make_venv(tmp_path / "partial", commands=("ironic",))
    with pytest.raises(IronicVenvNotFound, match="ironic-dbsync is missing"):
        find_ironic_venv(named, tmp_path, tmp_path / "prefix")


def test_current_folder_comes_first(tmp_path: Path) -> None:
    here = make_venv(tmp_path / "cwd" / ".venv-ironic")
    make_venv(tmp_path / "checkout" / ".venv-ironic")
    found = find_ironic_venv(None, tmp_path / "cwd", tmp_path / "checkout" / ".venv")
    assert found == here


def test_beside_the_running_environment(tmp_path: Path) -> None:
    """An installed ``.venv/bin/metalscope`` run from any folder finds the checkout's Ironic."""
    beside = make_venv(tmp_path / "checkout" / ".venv-ironic")
    found = find_ironic_venv(None, tmp_path / "cwd", tmp_path / "checkout" / ".venv")
    assert found == beside


def test_ironic_in_the_running_environment(tmp_path: Path) -> None:
    prefix = make_venv(tmp_path / "site")
    assert find_ironic_venv(None, tmp_path / "cwd", prefix) == prefix


def test_nothing_found_names_the_places_and_the_way_out(tmp_path: Path) -> None:
    with pytest.raises(IronicVenvNotFound) as caught:
        find_ironic_venv(None, tmp_path / "cwd", tmp_path / "prefix")
    message = str(caught.value)
    assert str(tmp_path / "cwd" / ".venv-ironic") in message
    assert str(tmp_path / ".venv-ironic") in message
    assert "--ironic-venv" in message and "METALSCOPE_IRONIC_VENV" in message


def test_demo_reads_the_environment_variable_and_fails_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "no-ironic"
    result = CliRunner().invoke(main, ["demo", "--workdir", str(tmp_path / "demo")],
                                env={"METALSCOPE_IRONIC_VENV": str(missing)})
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: No Ironic in {missing}:")
    assert "Traceback" not in result.output
    assert not (tmp_path / "demo").exists()
