"""Upstream's command names: their arguments, exit statuses and one-line errors."""

from __future__ import annotations

import importlib
import sys
import tomllib
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

import metalscope
from metalscope.cli import main as metalscope_main
from metalscope.cli.upstream import (
    api_wsgi,
    conductor,
    dbsync,
    inspector,
    migrate_data,
    status,
)
from metalscope.cli.version import package_version
from metalscope.storage import migrate

ROOT = Path(__file__).resolve().parents[3]
COMMANDS = {"ironic-inspector": inspector, "ironic-inspector-conductor": conductor,
            "ironic-inspector-api-wsgi": api_wsgi, "ironic-inspector-dbsync": dbsync,
            "ironic-inspector-status": status, "ironic-inspector-migrate-data": migrate_data}


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No configuration file of this machine's user is found."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    return folder


def write_conf(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "inspector.conf"
    path.write_text(f"[DEFAULT]\nauth_strategy = noauth\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
                    f"[ironic]\nauth_type = none\nendpoint_override = http://127.0.0.1:9\n"
                    f"{extra}")
    return path


def one_error_line(capsys: pytest.CaptureFixture[str], prog: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"{prog}: "), err
    return err


class TestVersion:
    @pytest.mark.parametrize("prog", sorted(COMMANDS))
    def test_every_command(self, prog: str, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stop:
            COMMANDS[prog].main(["--version"])  # type: ignore[attr-defined]
        assert stop.value.code == 0
        assert capsys.readouterr().out.strip() == package_version() == "0.1.0"

    def test_metalscope(self) -> None:
        result = CliRunner().invoke(metalscope_main, ["--version"])
        assert result.exit_code == 0
        assert result.output == f"metalscope, version {package_version()}\n"


class TestDistribution:
    def test_same_version_and_pinned_metalscope(self) -> None:
        ours = metalscope.__version__
        theirs = tomllib.loads((ROOT / "distributions" / "ironic-inspector-commands" /
                                "pyproject.toml").read_text())["project"]
        assert theirs["version"] == ours
        assert theirs["dependencies"] == [f"metalscope=={ours}"]

    def test_scripts_name_these_modules(self) -> None:
        scripts = tomllib.loads((ROOT / "distributions" / "ironic-inspector-commands" /
                                 "pyproject.toml").read_text())["project"]["scripts"]
        assert set(scripts) == set(COMMANDS)
        for name, target in scripts.items():
            assert target == f"{COMMANDS[name].__name__}:main"
        assert "ironic-inspector" not in str(tomllib.loads(
            (ROOT / "pyproject.toml").read_text())["project"]["scripts"])


class TestDeploymentModeGuards:
    def test_all_in_one_refuses_split_mode(self, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path, "[DEFAULT]\nstandalone = False\n")
        assert inspector.main(["--config-file", str(conf)]) == 1
        assert "[DEFAULT]standalone should be set to True" in one_error_line(
            capsys, "ironic-inspector")

    def test_conductor_refuses_standalone(self, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
        assert conductor.main(["--config-file", str(write_conf(tmp_path))]) == 1
        assert "standalone should be set to False" in one_error_line(
            capsys, "ironic-inspector-conductor")

    def test_api_refuses_standalone(self, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        assert api_wsgi.main(["--", "--config-file", str(write_conf(tmp_path))]) == 1
        assert "To run ironic-inspector-api" in one_error_line(capsys,
                                                               "ironic-inspector-api-wsgi")

    def test_missing_file(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        assert inspector.main(["--config-file", str(tmp_path / "none.conf")]) == 1
        assert "Failed to find some config files" in one_error_line(capsys, "ironic-inspector")


class TestApiWsgiArguments:
    def test_pbr_defaults(self) -> None:
        assert api_wsgi.split_arguments([]) == (("0.0.0.0", 8000), [])

    def test_port_host_and_passed_options(self) -> None:
        assert api_wsgi.split_arguments(
            ["-p", "5050", "-b", "127.0.0.1", "--", "--config-file", "x.conf", "-d"]) == (
            ("127.0.0.1", 5050), ["--config-file", "x.conf", "-d"])
        assert api_wsgi.split_arguments(["--port", "1", "--host", "::1"])[0] == ("::1", 1)

    def test_options_without_separator_are_refused(
            self, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stop:
            api_wsgi.split_arguments(["--config-file", "x.conf"])
        assert stop.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err

    def test_refused_inside_a_wsgi_server(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Imported by uWSGI (its ``uwsgi`` module loaded), the module refuses at once."""
        api_wsgi.refuse_wsgi_server(["os", "sys"])
        monkeypatch.setitem(sys.modules, "uwsgi", types.ModuleType("uwsgi"))
        with pytest.raises(RuntimeError, match="cannot run inside a WSGI server"):
            importlib.reload(api_wsgi)
        monkeypatch.delitem(sys.modules, "uwsgi")
        importlib.reload(api_wsgi)


class TestDbsync:
    def run(self, conf: Path, *argv: str) -> int:
        return dbsync.main(["--config-file", str(conf), *argv])

    def test_upgrade_current_and_version(self, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        assert self.run(conf, "current") == 0
        assert capsys.readouterr().out.splitlines() == ["MetalScope: none",
                                                        "ironic-inspector: none"]
        assert self.run(conf, "upgrade") == 0
        heads = [f"MetalScope: {migrate.head_revision()} (head)",
                 f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]
        assert capsys.readouterr().out.splitlines() == heads
        assert self.run(conf, "version") == 0 and capsys.readouterr().out.splitlines() == heads
        assert self.run(conf, "heads") == 0 and capsys.readouterr().out.splitlines() == heads

    def test_upgrade_to_a_revision(self, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        first = migrate.revision_history()["MetalScope"][0]
        assert self.run(conf, "upgrade", "--revision", first) == 0
        assert capsys.readouterr().out.splitlines()[0] == f"MetalScope: {first}"
        assert self.run(conf, "upgrade", "--revision", migrate.UPSTREAM_HEAD) == 1
        assert "one of ironic-inspector's revisions" in one_error_line(capsys, dbsync.PROG)

    def test_stamp(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        assert self.run(conf, "stamp", "--revision", "d00d6e3f38c4") == 0
        assert capsys.readouterr().out.splitlines() == ["MetalScope: none",
                                                        "ironic-inspector: d00d6e3f38c4"]
        assert self.run(conf, "stamp", "--revision", "head") == 0
        assert capsys.readouterr().out.splitlines()[0] == (
            f"MetalScope: {migrate.head_revision()} (head)")
        assert self.run(conf, "stamp", "--revision", "d00d6e3f38c4") == 1
        assert "has MetalScope's schema" in one_error_line(capsys, dbsync.PROG)
        assert self.run(conf, "stamp", "--revision", "nope") == 1
        assert "Unknown revision nope" in one_error_line(capsys, dbsync.PROG)

    def test_stamp_needs_a_revision(self, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stop:
            self.run(write_conf(tmp_path), "stamp")
        assert stop.value.code == 2 and "--revision" in capsys.readouterr().err

    def test_downgrade_hands_the_database_back(self, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        self.run(conf, "upgrade")
        capsys.readouterr()
        assert self.run(conf, "downgrade") == 0
        assert capsys.readouterr().out.splitlines() == [
            "MetalScope: none", f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]

    @pytest.mark.parametrize("argv", [["revision", "-m", "x", "--autogenerate"],
                                      ["show", "--revision", "head"],
                                      ["edit", "--revision", "head"]])
    def test_refused_subcommands(self, tmp_path: Path, argv: list[str],
                                 capsys: pytest.CaptureFixture[str]) -> None:
        assert self.run(write_conf(tmp_path), *argv) == 1
        assert f"{argv[0]} is not available" in one_error_line(capsys, dbsync.PROG)

    def test_history_and_branches(self, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        assert self.run(conf, "history") == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0].startswith("MetalScope: 0001_initial -> ")
        assert lines[1].endswith(f" -> {migrate.UPSTREAM_HEAD}")
        assert self.run(conf, "branches") == 0 and capsys.readouterr().out == ""

    def test_database_error_is_one_line(self, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        conf = tmp_path / "x.conf"
        (tmp_path / "file").write_text("")
        conf.write_text(f"[database]\nconnection = sqlite:///{tmp_path}/file/db\n")
        assert self.run(conf, "upgrade") == 1
        assert "Cannot open the database" in one_error_line(capsys, dbsync.PROG)


class TestMetalscopeDbStamp:
    def test_stamp(self, tmp_path: Path) -> None:
        conf = write_conf(tmp_path)
        result = CliRunner().invoke(metalscope_main, ["db", "stamp", "--config-file", str(conf),
                                                      "--revision", migrate.UPSTREAM_HEAD])
        assert result.exit_code == 0, result.output
        assert result.output.splitlines() == [
            "MetalScope: none", f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]


class TestStatus:
    def test_configuration_failure(self, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
        code = status.main(["--config-file", str(tmp_path / "none.conf"), "upgrade", "check"])
        out = capsys.readouterr().out
        assert code == 2 and "| Check: Configuration" in out and "| Result: Failure" in out

    def test_unreachable_ironic_fails_and_json(self, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path)
        code = status.main(["--config-file", str(conf), "upgrade", "check", "--json"])
        import json
        document = json.loads(capsys.readouterr().out)
        assert code == 2 and document["name"] == "Upgrade Check Results"
        results = {check["check"]: check["result"] for check in document["checks"]}
        assert results == {"Configuration": 0, "Database schema": 1, "Ironic API access": 2,
                           "Introspection data store": 0, "Options MetalScope ignores": 0}

    def test_swift_unreachable_fails(self, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
        conf = write_conf(tmp_path, "[processing]\nstore_data = swift\n[swift]\nauth_type = "
                                    "none\nendpoint_override = http://127.0.0.1:9/v1/AUTH_x\n")
        assert status.main(["--config-file", str(conf), "upgrade", "check", "--json"]) == 2
        import json
        found = {check["check"]: check for check in
                 json.loads(capsys.readouterr().out)["checks"]}
        store = found["Introspection data store"]
        assert store["result"] == 2
        assert store["details"].startswith(
            "Swift failed to read container ironic-inspector. Error was: "), store

    def test_needs_upgrade_check(self, tmp_path: Path) -> None:
        with pytest.raises(SystemExit) as stop:
            status.main(["--config-file", str(write_conf(tmp_path)), "upgrade"])
        assert stop.value.code == 2


class TestMigrateData:
    def test_from_and_to_are_required(self, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        assert migrate_data.main(["--config-file", str(write_conf(tmp_path))]) == 1
        assert "value required for option from" in one_error_line(capsys, migrate_data.PROG)

    def test_same_store_refused(self, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
        assert migrate_data.main(["--config-file", str(write_conf(tmp_path)), "--from",
                                  "database", "--to", "database"]) == 2
        assert "can not be the same" in capsys.readouterr().out


class TestLogFileName:
    def test_log_dir_alone_names_the_file_after_the_command(
            self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """Upstream writes ``<log_dir>/<command>.log``; so do the upstream-named commands.
        (The schema was never upgraded, so the command stops after logging started.)"""
        logs = tmp_path / "logs"
        logs.mkdir()
        conf = write_conf(tmp_path)
        assert inspector.main(["--config-file", str(conf), "--log-dir", str(logs)]) == 1
        assert [path.name for path in logs.iterdir()] == ["ironic-inspector.log"]
        assert "Configuration read from" in (logs / "ironic-inspector.log").read_text()
