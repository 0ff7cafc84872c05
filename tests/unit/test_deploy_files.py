"""The deployment examples in ``deploy/``: the systemd unit, the Containerfile, its entry point
and the example configuration, read as systemd and an image builder read them. Every
``metalscope`` command line in them is parsed by the real command's click parser."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import click
import pytest

from metalscope.settings import load_settings
from tests.deploy_files import (
    CONTAINERFILE,
    DEPLOY,
    EXAMPLE_CONFIG,
    UNIT_FILE,
    command_line,
    exec_form,
    healthcheck,
    instruction_arguments,
    metalscope_command,
    read_containerfile,
    read_unit,
    timespan_seconds,
    value,
    values,
)

ROOT_USERS = {"root", "0"}
CONFIG = "/etc/metalscope/metalscope.conf"


@pytest.fixture(scope="module")
def unit() -> dict[str, list[tuple[str, str]]]:
    return read_unit()


@pytest.fixture(scope="module")
def containerfile() -> list[tuple[str, str]]:
    return read_containerfile()


def the_one(found: list[str], what: str) -> str:
    assert len(found) == 1, f"expected one {what}, found {found}"
    return found[0]


class TestCommandParser:
    """The helper itself: it must refuse what the real command refuses."""

    def test_accepts_a_real_command(self) -> None:
        parsed = metalscope_command(["/x/metalscope", "db", "upgrade", "--config-file", "a"])
        assert parsed.path == ("db", "upgrade") and parsed.params["config_files"] == ("a",)

    @pytest.mark.parametrize("argv", [
        ["metalscope", "serve", "--config", "a"],
        ["metalscope", "db", "migrate"],
        ["metalscope", "db"],
        ["metalscope", "serve", "extra"],
        ["ironic-inspector", "serve"],
    ])
    def test_refuses_what_the_cli_refuses(self, argv: list[str]) -> None:
        with pytest.raises(click.UsageError):
            metalscope_command(argv)


class TestSystemdUnit:
    def test_sections_and_required_keys(self, unit: dict[str, list[tuple[str, str]]]) -> None:
        assert {"Unit", "Service", "Install"} <= set(unit)
        for key in ("Type", "User", "ExecStartPre", "ExecStart", "ExecReload", "KillSignal",
                    "TimeoutStopSec"):
            assert values(unit, "Service", key), f"[Service]{key} missing"
        assert value(unit, "Service", "Type") in ("exec", "simple")
        assert value(unit, "Install", "WantedBy") == "multi-user.target"

    def test_runs_as_a_system_user_not_root(self, unit: dict[str, list[tuple[str, str]]]) -> None:
        assert value(unit, "Service", "User") not in ROOT_USERS
        assert value(unit, "Service", "Group") not in ROOT_USERS

    def test_exec_start_is_serve_with_the_configuration_file(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        argv = command_line(the_one(values(unit, "Service", "ExecStart"), "ExecStart"))
        assert argv[0] == "/usr/bin/metalscope"
        parsed = metalscope_command(argv)
        assert parsed.path == ("serve",)
        assert parsed.params["config_files"] == (CONFIG,)

    def test_exec_start_pre_upgrades_the_same_database(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        start = metalscope_command(command_line(value(unit, "Service", "ExecStart")))
        pre = [metalscope_command(command_line(line))
               for line in values(unit, "Service", "ExecStartPre")]
        upgrades = [parsed for parsed in pre if parsed.path == ("db", "upgrade")]
        assert len(upgrades) == 1
        assert upgrades[0].params["config_files"] == start.params["config_files"]
        assert upgrades[0].params["config_dirs"] == start.params["config_dirs"]
        assert upgrades[0].params["revision"] == "head"

    def test_reload_sends_sighup_to_the_main_process(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        argv = command_line(value(unit, "Service", "ExecReload"))
        assert Path(argv[0]).name == "kill"
        assert argv[1:] == ["-HUP", "$MAINPID"]

    def test_stop_waits_longer_than_the_graceful_shutdown(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        assert value(unit, "Service", "KillSignal") == "SIGTERM"
        graceful = load_settings([str(EXAMPLE_CONFIG)]).default.graceful_shutdown_timeout
        assert graceful > 0
        assert timespan_seconds(value(unit, "Service", "TimeoutStopSec")) > graceful

    def test_no_privileges_unless_the_iptables_filter_asks(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        assert value(unit, "Service", "CapabilityBoundingSet") == ""
        assert value(unit, "Service", "AmbientCapabilities") == ""
        assert value(unit, "Service", "NoNewPrivileges") == "yes"
        assert value(unit, "Service", "ProtectSystem") == "strict"
        # The example configuration's filter is one that needs no capability.
        assert load_settings([str(EXAMPLE_CONFIG)]).pxe_filter.driver in ("noop", "dnsmasq")

    def test_state_directory_holds_the_example_database(
            self, unit: dict[str, list[tuple[str, str]]]) -> None:
        state = Path("/var/lib") / value(unit, "Service", "StateDirectory")
        assert value(unit, "Service", "WorkingDirectory") == str(state)
        url = load_settings([str(EXAMPLE_CONFIG)]).database.connection
        assert url.startswith("sqlite:///")
        assert Path(url.removeprefix("sqlite:///")).parent == state

    @pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                        reason="systemd-analyze is not installed")
    def test_systemd_accepts_the_unit(self, tmp_path: Path) -> None:
        """systemd's own parser; the binary path is swapped for one that exists here."""
        text = UNIT_FILE.read_text().replace("/usr/bin/metalscope", sys.executable)
        (tmp_path / UNIT_FILE.name).write_text(text)
        result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / UNIT_FILE.name)],
                                capture_output=True, text=True, check=False)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr


class TestContainerfile:
    def test_base_image(self, containerfile: list[tuple[str, str]]) -> None:
        image = the_one(instruction_arguments(containerfile, "FROM"), "FROM")
        assert image.startswith(("python:3.11-slim", "debian:"))

    def test_runs_as_a_user_that_is_not_root(self, containerfile: list[tuple[str, str]]) -> None:
        users = instruction_arguments(containerfile, "USER")
        assert users, "no USER: the image would run as root"
        assert users[-1].partition(":")[0] not in ROOT_USERS

    def test_exposes_the_example_configurations_port(
            self, containerfile: list[tuple[str, str]]) -> None:
        port = load_settings([str(EXAMPLE_CONFIG)]).default.listen_port
        assert the_one(instruction_arguments(containerfile, "EXPOSE"), "EXPOSE") == str(port)

    def test_healthcheck_calls_the_health_endpoint_with_python(
            self, containerfile: list[tuple[str, str]]) -> None:
        check = healthcheck(the_one(instruction_arguments(containerfile, "HEALTHCHECK"),
                                    "HEALTHCHECK"))
        assert check.argv[:2] == ["python", "-c"] and len(check.argv) == 3
        code = check.argv[2]
        ast.parse(code)
        urls = [node.value for node in ast.walk(ast.parse(code))
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.startswith("http")]
        url = urlsplit(the_one(urls, "URL"))
        settings = load_settings([str(EXAMPLE_CONFIG)])
        assert settings.healthcheck.enabled
        assert url.path == settings.healthcheck.path == "/healthcheck"
        assert url.hostname == "127.0.0.1" and url.port == settings.default.listen_port
        assert "urllib.request" in code
        timeout = timespan_seconds(check.options["timeout"])
        assert f"timeout={timeout - 1:g}" in code  # urllib gives up before the builder

    def test_cmd_is_serve_with_the_copied_configuration(
            self, containerfile: list[tuple[str, str]]) -> None:
        argv = exec_form(instruction_arguments(containerfile, "CMD")[-1])
        parsed = metalscope_command(argv)
        assert parsed.path == ("serve",) and parsed.params["config_files"] == (CONFIG,)
        copies = [arguments.split() for arguments in instruction_arguments(containerfile, "COPY")]
        assert ["deploy/metalscope.conf", CONFIG] in copies

    def test_entrypoint_is_the_copied_script(self, containerfile: list[tuple[str, str]]) -> None:
        entrypoint = exec_form(instruction_arguments(containerfile, "ENTRYPOINT")[-1])
        copies = [arguments.split() for arguments in instruction_arguments(containerfile, "COPY")]
        sources = [source for source, target in copies if target == entrypoint[0]]
        assert sources == ["deploy/container-entrypoint.sh"]
        assert os.access(DEPLOY / "container-entrypoint.sh", os.X_OK)

    def test_build_context_keeps_only_wheels_and_deploy(self) -> None:
        lines = (DEPLOY.parent / ".dockerignore").read_text().splitlines()
        assert [line for line in lines if line.strip() and not line.startswith("#")] == [
            "*", "!dist/*.whl", "!deploy/"]
        sources = [arguments.split()[0] for arguments
                   in instruction_arguments(read_containerfile(CONTAINERFILE), "COPY")]
        assert all(source.startswith(("dist/", "deploy/")) for source in sources)


class TestEntrypoint:
    """The entry point script with a stand-in ``metalscope`` that records its arguments."""

    @pytest.fixture
    def recorder(self, tmp_path: Path) -> Path:
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        fake = bin_dir / "metalscope"
        fake.write_text(f'#!/bin/sh\necho "$*" >> {tmp_path / "calls"}\n')
        fake.chmod(0o755)
        return tmp_path

    def run(self, recorder: Path, argv: list[str], **env: str) -> list[str]:
        entrypoint = DEPLOY / "container-entrypoint.sh"
        subprocess.run([str(entrypoint), *argv], check=True, env={
            "PATH": f"{recorder / 'bin'}:/usr/bin:/bin", **env})
        calls = recorder / "calls"
        return calls.read_text().splitlines() if calls.exists() else []

    def test_upgrades_the_schema_before_serving(self, recorder: Path) -> None:
        cmd = exec_form(instruction_arguments(read_containerfile(), "CMD")[-1])
        assert self.run(recorder, cmd) == [f"db upgrade --config-file {CONFIG}",
                                           f"serve --config-file {CONFIG}"]

    def test_the_upgrade_can_be_left_out(self, recorder: Path) -> None:
        cmd = exec_form(instruction_arguments(read_containerfile(), "CMD")[-1])
        assert self.run(recorder, cmd, METALSCOPE_DB_UPGRADE="0") == [
            f"serve --config-file {CONFIG}"]

    def test_other_commands_run_as_given(self, recorder: Path) -> None:
        assert self.run(recorder, ["metalscope", "db", "version"]) == ["db version"]

    def test_a_failed_upgrade_stops_the_start(self, recorder: Path) -> None:
        fail = recorder / "bin" / "metalscope"
        fail.write_text(f'#!/bin/sh\necho "$*" >> {recorder / "calls"}\nexit 3\n')
        result = subprocess.run([str(DEPLOY / "container-entrypoint.sh"), "metalscope", "serve"],
                                env={"PATH": f"{recorder / 'bin'}:/usr/bin:/bin"}, check=False)
        assert result.returncode == 3
        assert (recorder / "calls").read_text().splitlines() == ["db upgrade"]
