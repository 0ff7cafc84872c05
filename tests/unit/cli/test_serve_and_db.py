"""The metalscope command: db upgrade, serve's schema check, configuration errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from metalscope.cli import main
from metalscope.storage import migrate


def write_conf(tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "inspector.conf"
    path.write_text(f"[DEFAULT]\nauth_strategy = noauth\nlisten_port = 1\n"
                    f"[database]\nconnection = sqlite:///{tmp_path / 'db.sqlite'}\n"
                    f"[pxe_filter]\ndriver = noop\n[ironic]\nauth_type = none\n"
                    f"endpoint_override = http://127.0.0.1:9\n{extra}")
    return path


class TestDbUpgrade:
    def test_creates_schema(self, tmp_path: Path) -> None:
        """db upgrade brings an empty database to the head revision."""
        conf = write_conf(tmp_path)
        result = CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        assert result.exit_code == 0, result.output
        assert migrate.head_revision() in result.output
        assert migrate.schema_problem(f"sqlite:///{tmp_path / 'db.sqlite'}") is None


class TestDbVersionAndDowngrade:
    def test_version_of_new_and_empty_databases(self, tmp_path: Path) -> None:
        conf = write_conf(tmp_path)
        result = CliRunner().invoke(main, ["db", "version", "--config-file", str(conf)])
        assert result.exit_code == 0 and result.output.splitlines() == [
            "MetalScope: none", "ironic-inspector: none"]
        CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        result = CliRunner().invoke(main, ["db", "version", "--config-file", str(conf)])
        assert result.output.splitlines() == [
            f"MetalScope: {migrate.head_revision()} (head)",
            f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]

    def test_downgrade_hands_back_then_upgrade_adopts(self, tmp_path: Path) -> None:
        conf = write_conf(tmp_path)
        CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        result = CliRunner().invoke(main, ["db", "downgrade", "--config-file", str(conf)])
        assert result.exit_code == 0 and result.output.splitlines() == [
            "MetalScope: none", f"ironic-inspector: {migrate.UPSTREAM_HEAD} (head)"]
        result = CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        assert result.output.splitlines()[0] == (
            f"Adopted the ironic-inspector database at revision {migrate.UPSTREAM_HEAD}")

    def test_errors_are_one_line(self, tmp_path: Path) -> None:
        """Exit status 1 and one line, the message and no traceback."""
        conf = write_conf(tmp_path)
        result = subprocess.run([sys.executable, "-m", "metalscope.cli", "db", "downgrade",
                                 "--config-file", str(conf)], capture_output=True, text=True,
                                timeout=60)
        assert result.returncode == 1 and result.stderr.count("\n") == 1
        assert result.stderr.startswith("Error: The database has no MetalScope schema")


class TestServe:
    def test_refuses_old_schema(self, tmp_path: Path) -> None:
        """serve with a configured database refuses to start until db upgrade ran."""
        conf = write_conf(tmp_path)
        result = subprocess.run([sys.executable, "-m", "metalscope.cli", "serve", "--config-file",
                                 str(conf)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 1
        assert "Run `metalscope db upgrade`" in result.stderr

    def test_refuses_keystone_without_credentials(self, tmp_path: Path) -> None:
        """keystone without service credentials in [keystone_authtoken] stops start-up."""
        conf = write_conf(tmp_path, "[DEFAULT]\n")
        conf.write_text(conf.read_text().replace("auth_strategy = noauth",
                                                 "auth_strategy = keystone"))
        CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        result = CliRunner().invoke(main, ["serve", "--config-file", str(conf)])
        assert result.exit_code == 1 and "[keystone_authtoken]" in result.output

    def test_unknown_hook(self, tmp_path: Path) -> None:
        """An unknown processing hook name is refused by name at start-up."""
        conf = write_conf(tmp_path, "[processing]\nprocessing_hooks = ramdisk_error,nosuchhook\n")
        CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        result = subprocess.run([sys.executable, "-m", "metalscope.cli", "serve", "--config-file",
                                 str(conf)], capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert "nosuchhook" in result.stderr

    def test_webhook_without_secret(self, tmp_path: Path) -> None:
        """A drift webhook without its secret stops start-up in one line naming the option."""
        conf = write_conf(tmp_path, "[drift]\nnotifiers = log,webhook\n"
                                    "webhook_url = https://hooks.example.org/in\n")
        CliRunner().invoke(main, ["db", "upgrade", "--config-file", str(conf)])
        result = CliRunner().invoke(main, ["serve", "--config-file", str(conf)])
        assert result.exit_code == 1
        assert result.output.splitlines()[-1] == ("Error: [drift]webhook_secret must be set "
                                                  "to use the webhook drift notifier")

    def test_missing_config_file(self) -> None:
        """A missing configuration file is reported, not a traceback."""
        result = CliRunner().invoke(main, ["serve", "--config-file", "/no/such.conf"])
        assert result.exit_code == 1 and "/no/such.conf" in result.output
