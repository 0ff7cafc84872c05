"""Upstream's command lines parsed as oslo.config parses them, and its default places."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from metalscope.errors import ConfigurationError
from metalscope.settings.loader import (
    CommandOption,
    default_config,
    load_command_line,
    load_program_settings,
)

PROG = "ironic-inspector"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """HOME in a temporary folder, and oslo.config's snap folders unset."""
    folder = tmp_path / "home"
    folder.mkdir()
    monkeypatch.setenv("HOME", str(folder))
    monkeypatch.delenv("SNAP", raising=False)
    monkeypatch.delenv("SNAP_COMMON", raising=False)
    return folder


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def port_conf(path: Path, port: int) -> Path:
    return write(path, f"[DEFAULT]\nlisten_port = {port}\n")


def parse(*argv: str, **kwargs: object) -> object:
    return load_command_line(list(argv), prog=PROG, version="9.9.9", **kwargs)  # type: ignore[arg-type]


def nothing_in_etc(*names: str) -> bool:
    return not any(os.path.exists(os.path.join("/etc", name)) for name in names)


class TestDefaultPlaces:
    def test_project_folder_in_home_comes_first(self, home: Path) -> None:
        """~/.ironic-inspector/ before ~/, each name found once, its first place."""
        first = port_conf(home / ".ironic-inspector" / "ironic-inspector.conf", 1)
        port_conf(home / "ironic-inspector.conf", 2)
        prog = port_conf(home / "ironic-inspector-dbsync.conf", 3)
        found = default_config("ironic-inspector", "ironic-inspector-dbsync")
        assert found.files == (str(first), str(prog))

    def test_conf_d_folders(self, home: Path) -> None:
        folder = home / ".ironic-inspector" / "ironic-inspector.conf.d"
        folder.mkdir(parents=True)
        assert default_config("ironic-inspector", PROG).dirs == (str(folder),)

    def test_same_project_and_program_found_once(self, home: Path) -> None:
        conf = port_conf(home / ".metalscope" / "metalscope.conf", 1)
        assert default_config("metalscope", "metalscope").files == (str(conf),)


class TestLoadCommandLine:
    def test_default_file_then_default_folder(self, home: Path) -> None:
        """With nothing given, the default file is read, then the *.conf of the default
        .conf.d folder in name order (the last one wins)."""
        conf = port_conf(home / "ironic-inspector.conf", 1)
        folder = home / "ironic-inspector.conf.d"
        port_conf(folder / "b.conf", 3)
        port_conf(folder / "a.conf", 2)
        line = parse()
        assert line.settings.default.listen_port == 3  # type: ignore[attr-defined]
        assert line.settings.config_files == (  # type: ignore[attr-defined]
            str(conf), str(folder / "a.conf"), str(folder / "b.conf"))
        assert not line.settings.embedded  # type: ignore[attr-defined]

    def test_given_file_replaces_default_files_not_default_folders(
            self, home: Path, tmp_path: Path) -> None:
        """As oslo.config: --config-file replaces the default files only; the default
        .conf.d folders are still read, before it (the given file wins)."""
        port_conf(home / "ironic-inspector.conf", 1)
        given = port_conf(tmp_path / "given.conf", 2)
        assert parse("--config-file", str(given)).settings.default.listen_port == 2  # type: ignore[attr-defined]
        write(home / "ironic-inspector.conf.d" / "x.conf", "[DEFAULT]\nlisten_port = 3\n"
              "listen_address = 10.0.0.1\n")
        settings = parse("--config-file", str(given)).settings  # type: ignore[attr-defined]
        assert (settings.default.listen_port, settings.default.listen_address) == (2, "10.0.0.1")
        assert settings.config_files == (str(home / "ironic-inspector.conf.d" / "x.conf"),
                                         str(given))

    def test_repeated_files_and_folders_in_command_line_order(self, home: Path,
                                                              tmp_path: Path) -> None:
        one, two = port_conf(tmp_path / "one.conf", 1), port_conf(tmp_path / "two.conf", 2)
        folder = tmp_path / "dir"
        port_conf(folder / "x.conf", 3)
        assert parse("--config-file", str(one), "--config-file", str(two)
                     ).settings.default.listen_port == 2  # type: ignore[attr-defined]
        assert parse("--config-file", str(two), "--config-file", str(one)
                     ).settings.default.listen_port == 1  # type: ignore[attr-defined]
        line = parse("--config-file", str(one), f"--config-dir={folder}")
        assert line.settings.default.listen_port == 3  # type: ignore[attr-defined]
        assert line.settings.config_files == (str(one), str(folder / "x.conf"))  # type: ignore[attr-defined]

    def test_no_file_found_means_upstreams_defaults(self, home: Path) -> None:
        if not nothing_in_etc("ironic-inspector", "ironic-inspector.conf",
                              "ironic-inspector.conf.d"):
            pytest.skip("this machine has an ironic-inspector configuration in /etc")
        settings = parse().settings  # type: ignore[attr-defined]
        assert not settings.embedded and settings.config_files == ()
        assert settings.database.connection == "sqlite:///ironic_inspector.sqlite"
        assert settings.default.auth_strategy == "keystone"

    @pytest.mark.parametrize(("argv", "field", "value"), [
        (["--debug"], "debug", True),
        (["-d"], "debug", True),
        (["--debug", "--nodebug"], "debug", False),
        (["--log-file", "/x.log"], "log_file", "/x.log"),
        (["--logfile", "/x.log"], "log_file", "/x.log"),
        (["--log-dir", "/logs"], "log_dir", "/logs"),
        (["--logdir", "/logs"], "log_dir", "/logs"),
        (["--log-config-append", "/l.ini"], "log_config_append", "/l.ini"),
        (["--log-config", "/l.ini"], "log_config_append", "/l.ini"),
        (["--log_config", "/l.ini"], "log_config_append", "/l.ini"),
        (["--log-date-format", "%H"], "log_date_format", "%H"),
        (["--use-syslog"], "use_syslog", True),
        (["--use-journal"], "use_journal", True),
        (["--use-json"], "use_json", True),
        (["--syslog-log-facility", "LOG_LOCAL0"], "syslog_log_facility", "LOG_LOCAL0"),
    ])
    def test_oslo_log_flags(self, home: Path, argv: list[str], field: str,
                            value: object) -> None:
        assert getattr(parse(*argv).settings.logging, field) == value  # type: ignore[attr-defined]

    def test_the_command_line_wins_over_the_file(self, home: Path, tmp_path: Path) -> None:
        conf = write(tmp_path / "x.conf", "[DEFAULT]\ndebug = False\nlog_file = /a.log\n")
        logging = parse("--config-file", str(conf), "-d", "--log-file", "/b.log"
                        ).settings.logging  # type: ignore[attr-defined]
        assert logging.debug and logging.log_file == "/b.log"

    def test_version(self, home: Path, capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stop:
            parse("--version")
        assert stop.value.code == 0 and capsys.readouterr().out.strip() == "9.9.9"

    def test_unknown_flag_is_a_usage_error(self, home: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        with pytest.raises(SystemExit) as stop:
            parse("--no-such-flag")
        assert stop.value.code == 2 and "unrecognized arguments" in capsys.readouterr().err

    def test_missing_or_invalid_file_is_one_line(self, home: Path, tmp_path: Path) -> None:
        with pytest.raises(ConfigurationError, match="Failed to find some config files"):
            parse("--config-file", str(tmp_path / "none.conf"))
        bad = write(tmp_path / "bad.conf", "[DEFAULT]\nlisten_port = many\n")
        with pytest.raises(ConfigurationError) as error:
            parse("--config-file", str(bad))
        assert "\n" not in str(error.value) and "listen_port" in str(error.value)

    def test_command_options(self, home: Path) -> None:
        options = [CommandOption("from", "source_storage", "from", ("a", "b"), required=True)]
        assert parse("--from", "b", options=options).options == {"source_storage": "b"}  # type: ignore[attr-defined]
        with pytest.raises(ConfigurationError, match="value required for option from"):
            parse(options=options)

    def test_subcommand_and_its_arguments(self, home: Path) -> None:
        def subcommands(parsers: object) -> None:
            command = parsers.add_parser("upgrade")  # type: ignore[attr-defined]
            command.add_argument("--revision", nargs="?")
        line = parse("-d", "upgrade", "--revision", "abc", subcommands=subcommands)
        assert line.subcommand.name == "upgrade"  # type: ignore[attr-defined]
        assert line.subcommand.get("revision") == "abc"  # type: ignore[attr-defined]
        assert line.subcommand.get("other", "x") == "x"  # type: ignore[attr-defined]
        assert parse("upgrade", subcommands=subcommands).subcommand.get(  # type: ignore[attr-defined]
            "revision", "head") == "head"


class TestProgramSettings:
    def test_found_in_home(self, home: Path) -> None:
        conf = port_conf(home / ".metalscope" / "metalscope.conf", 7)
        settings = load_program_settings([], [])
        assert settings.default.listen_port == 7 and not settings.embedded
        assert settings.config_files == (str(conf),)

    def test_embedded_only_when_nothing_found(self, home: Path) -> None:
        if not nothing_in_etc("metalscope", "metalscope.conf", "metalscope.conf.d"):
            pytest.skip("this machine has a metalscope configuration in /etc")
        settings = load_program_settings([], [])
        assert settings.embedded and settings.config_files == ()

    def test_given_file_is_not_embedded(self, home: Path, tmp_path: Path) -> None:
        conf = port_conf(tmp_path / "x.conf", 8)
        settings = load_program_settings([str(conf)], [])
        assert settings.default.listen_port == 8 and not settings.embedded
