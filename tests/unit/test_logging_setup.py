"""setup_logging: oslo.log's [DEFAULT] options applied to the root logger, with real files and
real UNIX datagram sockets standing in for journald and syslog."""

from __future__ import annotations

import json
import logging
import logging.handlers
import socket
import struct
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from metalscope import log_context
from metalscope.errors import ConfigurationError
from metalscope.logging_setup import Sockets, reconfigure_logging, setup_logging
from metalscope.settings import Settings, load_settings

NODE = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
LOG = logging.getLogger("metalscope.tests.logging")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """Every test reconfigures the process's loggers: put them back as pytest had them."""
    loggers = [logging.getLogger(), *(lg for lg in logging.Logger.manager.loggerDict.values()
                                      if isinstance(lg, logging.Logger))]
    saved = {lg: (lg.level, list(lg.handlers), lg.propagate, list(lg.filters)) for lg in loggers}
    hook = sys.excepthook
    yield
    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        if not isinstance(logger, logging.Logger):
            continue
        for handler in logger.handlers:
            if handler not in saved.get(logger, (0, [], 0, []))[1]:
                handler.close()
        level, handlers, propagate, filters = saved.get(logger, (logging.NOTSET, [], True, []))
        logger.setLevel(level)
        logger.handlers, logger.propagate, logger.filters = handlers, propagate, filters
    sys.excepthook = hook


def settings_from(tmp_path: Path, text: str) -> Settings:
    """Settings read from a real configuration file holding ``[DEFAULT]`` ``text``."""
    path = tmp_path / "inspector.conf"
    path.write_text("[DEFAULT]\n" + text)
    return load_settings([str(path)])


def lines_of(path: Path) -> list[str]:
    return path.read_text().splitlines()


@pytest.fixture
def datagram_server(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A bound UNIX datagram socket: what journald and syslog listen on."""
    path = str(tmp_path / "daemon.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(path)
    server.settimeout(5)
    yield path, server
    server.close()


def journal_entry(data: bytes) -> dict[str, str]:
    """Decode journald's native protocol (both the ``KEY=value`` and the binary form)."""
    fields: dict[str, str] = {}
    while data:
        line, _sep, rest = data.partition(b"\n")
        if b"=" in line:
            key, _eq, value = line.partition(b"=")
            fields[key.decode()] = value.decode()
            data = rest
        else:
            size = struct.unpack("<Q", rest[:8])[0]
            fields[line.decode()] = rest[8:8 + size].decode()
            assert rest[8 + size:9 + size] == b"\n"
            data = rest[9 + size:]
    return fields


class TestDestinations:
    def test_log_file_gets_default_format(self, tmp_path: Path) -> None:
        """log_file alone: lines land there in oslo.log's default format, nothing on stdout."""
        log_file = tmp_path / "inspector.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\n"))
        LOG.info("hello %s", "file")
        [line] = lines_of(log_file)
        assert line.endswith(" INFO metalscope.tests.logging [-] hello file")
        assert isinstance(logging.getLogger().handlers[0], logging.handlers.WatchedFileHandler)

    def test_log_file_reopened_after_move(self, tmp_path: Path) -> None:
        """The file is watched: after logrotate moves it away, a new one is created."""
        log_file = tmp_path / "inspector.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\n"))
        LOG.info("before")
        log_file.rename(tmp_path / "inspector.log.1")
        LOG.info("after")
        assert [line.split()[-1] for line in lines_of(log_file)] == ["after"]
        assert lines_of(tmp_path / "inspector.log.1")[0].endswith("before")

    def test_log_dir_alone_names_file_after_program(self, tmp_path: Path) -> None:
        """log_dir alone: <log_dir>/<program>.log."""
        setup_logging(settings_from(tmp_path, f"log_dir = {tmp_path}\n"), program="metalscope")
        LOG.info("in the dir")
        assert lines_of(tmp_path / "metalscope.log")[0].endswith("in the dir")

    def test_log_dir_and_file_are_joined(self, tmp_path: Path) -> None:
        """log_file relative to log_dir, with oslo.log's deprecated option names."""
        setup_logging(settings_from(tmp_path, f"logdir = {tmp_path}\nlogfile = custom.log\n"),
                      program="metalscope-pxe-filter")
        LOG.info("joined")
        assert lines_of(tmp_path / "custom.log")[0].endswith("joined")
        assert not (tmp_path / "metalscope-pxe-filter.log").exists()

    def test_stdout_when_nothing_is_chosen(self, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
        """No file, stderr or journal: standard output, as oslo.log."""
        setup_logging(settings_from(tmp_path, ""))
        LOG.warning("to stdout")
        out, err = capsys.readouterr()
        assert out.endswith("WARNING metalscope.tests.logging [-] to stdout\n") and err == ""

    def test_use_stderr_and_file(self, tmp_path: Path,
                                 capsys: pytest.CaptureFixture[str]) -> None:
        """use_stderr adds standard error next to the file; standard output stays quiet."""
        log_file = tmp_path / "both.log"
        setup_logging(settings_from(tmp_path, f"use_stderr = True\nlog_file = {log_file}\n"))
        LOG.info("twice")
        out, err = capsys.readouterr()
        assert out == "" and err.endswith("[-] twice\n")
        assert lines_of(log_file)[0].endswith("[-] twice")

    def test_missing_log_dir_is_a_start_up_error(self, tmp_path: Path) -> None:
        """A log file that cannot be opened stops start-up with a clear message."""
        missing = tmp_path / "nowhere" / "x.log"
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, f"log_file = {missing}\n"))
        assert str(exc.value) == f"Cannot open the log file {missing}: No such file or directory"


class TestRotation:
    def test_size_rotation(self, tmp_path: Path) -> None:
        """log_rotation_type = size: the file rotates at max_logfile_size_mb, keeping
        max_logfile_count old files."""
        log_file = tmp_path / "big.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\nlog_rotation_type = size\n"
                                    "max_logfile_size_mb = 1\nmax_logfile_count = 2\n"))
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.handlers.RotatingFileHandler)
        assert (handler.maxBytes, handler.backupCount) == (1024 * 1024, 2)
        for _ in range(5):
            LOG.info("x" * 400_000)
        assert sorted(p.name for p in tmp_path.glob("big.log*")) == [
            "big.log", "big.log.1", "big.log.2"]

    @pytest.mark.parametrize(("kind", "interval", "when", "seconds"), [
        ("Hours", 6, "H", 6 * 3600), ("midnight", 1, "MIDNIGHT", 86400),
        ("Weekday", 3, "W3", 7 * 86400), ("seconds", 30, "S", 30)])
    def test_interval_rotation(self, tmp_path: Path, kind: str, interval: int, when: str,
                               seconds: int) -> None:
        """log_rotation_type = interval: log_rotate_interval(_type) pick the rotation time;
        for Weekday the interval is the day (0 = Monday) and the period one week."""
        setup_logging(settings_from(
            tmp_path, f"log_file = {tmp_path / 'timed.log'}\nlog_rotation_type = interval\n"
            f"log_rotate_interval_type = {kind}\nlog_rotate_interval = {interval}\n"
            "max_logfile_count = 4\n"))
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.handlers.TimedRotatingFileHandler)
        assert (handler.when, handler.interval, handler.backupCount) == (when, seconds, 4)


class TestJournal:
    def test_fields(self, tmp_path: Path, datagram_server: tuple[str, socket.socket],
                    capsys: pytest.CaptureFixture[str]) -> None:
        """use_journal: one native-protocol datagram per line, with oslo.log's fields;
        nothing on standard output."""
        path, server = datagram_server
        setup_logging(settings_from(tmp_path, "use_journal = True\n"),
                      sockets=Sockets(journal=path))
        with log_context.bound(NODE), log_context.bound_request("req-1", "req-global"):
            LOG.warning("journal line")
        entry = journal_entry(server.recv(65536))
        assert entry["MESSAGE"].endswith(
            f"WARNING metalscope.tests.logging [req-global req-1 - - - - - -] [node: {NODE}] "
            "journal line")
        assert {key: entry[key] for key in (
            "PRIORITY", "SYSLOG_FACILITY", "SYSLOG_IDENTIFIER", "LOGGER_NAME", "LOGGER_LEVEL",
            "CODE_FUNC", "REQUEST_ID", "GLOBAL_REQUEST_ID", "NODE_UUID")} == {
            "PRIORITY": "4", "SYSLOG_FACILITY": "1", "SYSLOG_IDENTIFIER": "metalscope",
            "LOGGER_NAME": "metalscope.tests.logging", "LOGGER_LEVEL": "WARNING",
            "CODE_FUNC": "test_fields", "REQUEST_ID": "req-1",
            "GLOBAL_REQUEST_ID": "req-global", "NODE_UUID": NODE}
        assert entry["CODE_FILE"] == __file__ and int(entry["CODE_LINE"]) > 0
        assert capsys.readouterr().out == ""

    def test_traceback_uses_binary_fields(self, tmp_path: Path,
                                          datagram_server: tuple[str, socket.socket]) -> None:
        """Values with newlines (a traceback) use the length-prefixed form; the exception
        goes to EXCEPTION_INFO too; the facility is syslog_log_facility's number."""
        path, server = datagram_server
        setup_logging(settings_from(tmp_path, "use_journal = True\n"
                                    "syslog_log_facility = local2\n"),
                      sockets=Sockets(journal=path))
        try:
            raise KeyError("gone")
        except KeyError:
            LOG.exception("it broke")
        entry = journal_entry(server.recv(65536))
        assert entry["PRIORITY"] == "3" and entry["SYSLOG_FACILITY"] == "18"
        assert "\n" in entry["MESSAGE"] and entry["MESSAGE"].endswith("KeyError: 'gone'")
        assert entry["EXCEPTION_INFO"].startswith("Traceback (most recent call last):")
        assert entry["EXCEPTION_INFO"] == entry["EXCEPTION_TEXT"]

    def test_large_entry_goes_through_memfd(self, tmp_path: Path,
                                            datagram_server: tuple[str, socket.socket]) -> None:
        """An entry larger than a datagram is sent as a sealed memfd, as journald expects."""
        path, server = datagram_server
        setup_logging(settings_from(tmp_path, "use_journal = True\n"),
                      sockets=Sockets(journal=path))
        LOG.info("big %s", "y" * 400_000)
        data, ancillary, _flags, _addr = server.recvmsg(16, socket.CMSG_LEN(4))
        assert data == b""
        [(level, kind, fd_bytes)] = ancillary
        assert (level, kind) == (socket.SOL_SOCKET, socket.SCM_RIGHTS)
        fd = struct.unpack("i", fd_bytes[:4])[0]
        with open(fd, "rb") as memfd:
            memfd.seek(0)
            entry = journal_entry(memfd.read())
        assert entry["MESSAGE"].endswith("big " + "y" * 400_000)

    def test_only_destination_unreachable_is_an_error(self, tmp_path: Path) -> None:
        """Journald as the only destination and no journald: start-up fails clearly."""
        missing = str(tmp_path / "no-journal.sock")
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, "use_journal = True\n"),
                          sockets=Sockets(journal=missing))
        assert str(exc.value).startswith(f"Cannot send log lines to journald at {missing} (")


class TestSyslog:
    def test_priority_and_identifier(self, tmp_path: Path,
                                     datagram_server: tuple[str, socket.socket],
                                     capsys: pytest.CaptureFixture[str]) -> None:
        """use_syslog: <facility*8+severity>program: line; standard output keeps the lines
        too (syslog does not replace it, as in oslo.log)."""
        path, server = datagram_server
        setup_logging(settings_from(tmp_path, "use_syslog = True\n"
                                    "syslog_log_facility = LOG_LOCAL3\n"),
                      program="metalscope-pxe-filter", sockets=Sockets(syslog=path))
        LOG.error("syslog line")
        LOG.debug("not at INFO")
        datagram = server.recv(65536).decode()
        assert datagram.startswith(f"<{19 * 8 + 3}>metalscope-pxe-filter: ")
        assert datagram.endswith("ERROR metalscope.tests.logging [-] syslog line")
        assert capsys.readouterr().out.endswith("[-] syslog line\n")
        server.setblocking(False)
        with pytest.raises(BlockingIOError):
            server.recv(65536)

    def test_unreachable_warns_then_reconnects(self, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
        """No syslog yet: a warning on the other destinations; once it listens, lines arrive."""
        path = str(tmp_path / "late.sock")
        setup_logging(settings_from(tmp_path, "use_syslog = True\n"),
                      sockets=Sockets(syslog=path))
        assert f"Cannot send log lines to syslog at {path} (" in capsys.readouterr().out
        LOG.info("dropped")
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
            server.bind(path)
            server.settimeout(5)
            LOG.info("delivered")
            assert server.recv(65536).decode().endswith("[-] delivered")

    def test_unknown_facility(self, tmp_path: Path) -> None:
        """A facility oslo.log would refuse is a start-up error listing the valid ones."""
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, "use_syslog = True\n"
                                        "syslog_log_facility = LOG_NOPE\n"))
        assert str(exc.value).startswith(
            "Invalid syslog_log_facility: syslog facility must be one of: 'LOG_KERN', ")


class TestFormatOptions:
    def test_debug_adds_debug_lines_with_suffix(self, tmp_path: Path) -> None:
        """debug = True: DEBUG lines, with logging_debug_format_suffix."""
        log_file = tmp_path / "debug.log"
        setup_logging(settings_from(tmp_path, f"debug = True\nlog_file = {log_file}\n"))
        line_number = sys._getframe().f_lineno + 1
        LOG.debug("details")
        [line] = lines_of(log_file)
        assert " DEBUG metalscope.tests.logging [-] details " in line
        assert line.endswith(f"details test_debug_adds_debug_lines_with_suffix {__file__}:"
                             f"{line_number}")

    def test_info_without_debug(self, tmp_path: Path) -> None:
        """debug = False: the root logger is at INFO."""
        log_file = tmp_path / "info.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\n"))
        LOG.debug("hidden")
        LOG.info("shown")
        assert [line.split()[-1] for line in lines_of(log_file)] == ["shown"]

    def test_custom_formats(self, tmp_path: Path) -> None:
        """The format options, the date format and instance_uuid_format all apply; the
        context format is used inside a request, the default one outside."""
        log_file = tmp_path / "custom.log"
        context = ("C %(request_id)s %(global_request_id)s <%(user_identity)s> "
                   "%(instance)s%(message)s")
        setup_logging(settings_from(tmp_path, f"""log_file = {log_file}
log_date_format = %Y/%m/%d
logging_default_format_string = D %(asctime)s %(levelname)s %(instance)s%(message)s
logging_context_format_string = {context}
logging_user_identity_format = %(user)s@%(project)s
logging_exception_prefix = EXC %(levelname)s |
instance_uuid_format = "(node %(uuid)s) "
"""))
        LOG.info("outside")
        with log_context.bound(NODE), log_context.bound_request("req-2"):
            LOG.info("inside")
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            LOG.exception("failed")
        lines = lines_of(log_file)
        assert lines[0].startswith("D ") and lines[0].endswith(" INFO outside")
        assert lines[0].split()[1].count("/") == 2
        assert lines[1] == f"C req-2 None <-@-> (node {NODE}) inside"
        assert lines[2].endswith(" ERROR failed: RuntimeError: boom")
        assert lines[3:] and all(line.startswith("EXC ERROR |") for line in lines[3:])
        assert lines[-1] == "EXC ERROR |RuntimeError: boom"

    def test_use_json(self, tmp_path: Path) -> None:
        """use_json: one JSON object per line with oslo.log's keys."""
        log_file = tmp_path / "json.log"
        setup_logging(settings_from(tmp_path, f"use_json = True\nlog_file = {log_file}\n"))
        with log_context.bound(NODE), log_context.bound_request("req-3"):
            LOG.warning("as %s", "json")
        [document] = [json.loads(line) for line in lines_of(log_file)]
        assert (document["message"], document["msg"], document["args"]) == (
            "as json", "as %s", ["json"])
        assert document["levelname"] == "WARNING" and document["name"] == LOG.name
        assert document["context"] == {"request_id": "req-3", "global_request_id": None}
        assert document["extra"] == {"node": NODE}

    def test_log_color(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """log_color: %(color)s is the level's colour and the line ends with a reset."""
        setup_logging(settings_from(tmp_path, "use_stderr = True\nlog_color = True\n"
                                    "logging_default_format_string = %(color)s%(message)s\n"))
        LOG.warning("yellow")
        assert capsys.readouterr().err == "\033[01;33myellow\033[00m\n"

    def test_broken_format_is_a_start_up_error(self, tmp_path: Path) -> None:
        """A format string that cannot format stops start-up, naming the option."""
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, "logging_default_format_string = %(name)\n"))
        assert str(exc.value).startswith(
            "Invalid logging format option: logging_default_format_string = '%(name)': ")


class TestLevelsAndLimits:
    def test_default_log_levels(self, tmp_path: Path) -> None:
        """default_log_levels sets named loggers' levels, by name or number."""
        setup_logging(settings_from(tmp_path, "default_log_levels = a.b=ERROR,c.d=5,e=warn\n"))
        assert [logging.getLogger(n).level for n in ("a.b", "c.d", "e")] == [
            logging.ERROR, 5, logging.WARNING]

    def test_embedded_defaults_quiet_libraries(self) -> None:
        """The default list quietens the HTTP and database libraries."""
        setup_logging(load_settings())
        assert logging.getLogger("httpx").level == logging.WARNING
        assert logging.getLogger("sqlalchemy").level == logging.WARNING

    def test_bad_level(self, tmp_path: Path) -> None:
        """An unknown level name is a start-up error naming the entry."""
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, "default_log_levels = a=LOUD\n"))
        assert str(exc.value) == "Invalid default_log_levels entry 'a=LOUD': Unknown level: 'LOUD'"

    def test_rate_limit(self, tmp_path: Path) -> None:
        """rate_limit_burst lines per rate_limit_interval, one notice, levels at or above
        rate_limit_except_level always pass; each line counted once for all destinations."""
        log_file = tmp_path / "limited.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\nuse_stderr = True\n"
                                    "rate_limit_burst = 2\nrate_limit_interval = 3600\n"
                                    "rate_limit_except_level = ERROR\n"))
        for n in range(5):
            LOG.info("line %d", n)
        LOG.error("important")
        messages = [line.split("[-] ", 1)[1] for line in lines_of(log_file)]
        assert messages == ["line 0", "line 1",
                            "Logging rate limit: drop after 2 records/3600 sec", "important"]


class TestLogConfigAppend:
    CONFIG = """[loggers]
keys = root

[handlers]
keys = file

[formatters]
keys = context

[logger_root]
level = DEBUG
handlers = file

[handler_file]
class = FileHandler
formatter = context
args = (%(path)r,)

[formatter_context]
class = oslo_log.formatters.ContextFormatter
"""

    def test_replaces_the_other_options(self, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        """The file's handlers and levels replace everything else (use_stderr, debug = False,
        default_log_levels); oslo.log's ContextFormatter class name works and uses the
        configuration's format options."""
        out = tmp_path / "from-config.log"
        config = tmp_path / "logging.conf"
        config.write_text(self.CONFIG.replace("%(path)r", repr(str(out))))
        setup_logging(settings_from(tmp_path, f"log_config_append = {config}\nuse_stderr = True\n"
                                    "logging_default_format_string = X %(instance)s%(message)s\n"
                                    "logging_debug_format_suffix =\n"
                                    "default_log_levels = metalscope.tests=ERROR\n"))
        with log_context.bound(NODE):
            LOG.debug("through the file")
        assert lines_of(out) == [f"X [node: {NODE}] through the file"]
        assert capsys.readouterr().err == ""

    def test_plain_formatter_sees_context(self, tmp_path: Path) -> None:
        """A plain logging.Formatter may name request_id, instance…: every handler of the
        file fills the context attributes."""
        out = tmp_path / "plain.log"
        config = tmp_path / "logging.conf"
        config.write_text(self.CONFIG.replace("%(path)r", repr(str(out))).replace(
            "class = oslo_log.formatters.ContextFormatter",
            "format = %(request_id)s %(node_uuid)s %(instance)s%(user_identity)s %(message)s"))
        setup_logging(settings_from(tmp_path, f"log_config_append = {config}\n"))
        with log_context.bound(NODE), log_context.bound_request("req-4"):
            LOG.info("plain")
        assert lines_of(out) == [f"req-4 {NODE} [node: {NODE}] - - - - - - plain"]

    @pytest.mark.parametrize(("content", "detail"), [
        (None, "No such file or directory"),
        ("[loggers]\nkeys = root\n", "missing section or option 'formatters'"),
        ("not an ini file", "File contains no section headers."),
        (CONFIG.replace("class = oslo_log.formatters.ContextFormatter",
                        "class = nowhere.Formatter"), "No module named 'nowhere'"),
    ])
    def test_bad_file_is_a_start_up_error(self, tmp_path: Path, content: str | None,
                                          detail: str) -> None:
        """A missing or broken file gives oslo.log's 'Error loading logging config' text."""
        config = tmp_path / "logging.conf"
        if content is not None:
            config.write_text(content.replace("%(path)r", repr(str(tmp_path / "x.log"))))
        with pytest.raises(ConfigurationError) as exc:
            setup_logging(settings_from(tmp_path, f"log_config_append = {config}\n"))
        assert str(exc.value).startswith(f"Error loading logging config {config}: {detail}")


class TestStartUpNotes:
    def test_ignored_options_are_logged(self, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
        """publish_errors and use_eventlog cannot be honoured: one warning each."""
        setup_logging(settings_from(tmp_path, "publish_errors = True\nuse_eventlog = True\n"))
        out = capsys.readouterr().out
        assert "WARNING metalscope.logging_setup [-] [DEFAULT]publish_errors is ignored" in out
        assert "[DEFAULT]use_eventlog is ignored" in out

    def test_nothing_noted_by_default(self, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
        """A plain configuration logs nothing at set-up."""
        setup_logging(settings_from(tmp_path, ""))
        assert capsys.readouterr().out == ""

    def test_unhandled_exception_is_logged(self, tmp_path: Path) -> None:
        """An exception nothing caught is logged as CRITICAL 'Unhandled error'."""
        log_file = tmp_path / "crash.log"
        setup_logging(settings_from(tmp_path, f"log_file = {log_file}\n"))
        try:
            raise ValueError("uncaught")
        except ValueError as exc:
            sys.excepthook(type(exc), exc, exc.__traceback__)
        assert lines_of(log_file)[0].endswith(
            "CRITICAL metalscope [-] Unhandled error: ValueError: uncaught")
        assert lines_of(log_file)[-1].endswith("ValueError: uncaught")



class TestCommands:
    @pytest.mark.parametrize(("command", "option", "message"), [
        ("serve", "log_config_append = {missing}",
         "Error: Error loading logging config {missing}: No such file or directory"),
        ("pxe-filter", "log_file = {missing}",
         "Error: Cannot open the log file {missing}: No such file or directory"),
    ])
    def test_bad_logging_option_is_one_line(self, tmp_path: Path, command: str, option: str,
                                            message: str) -> None:
        """serve and pxe-filter stop with the message and status 1, no traceback."""
        missing = tmp_path / "missing" / "file"
        conf = tmp_path / "inspector.conf"
        conf.write_text("[DEFAULT]\n" + option.format(missing=missing) + "\n"
                        "[pxe_filter]\ndriver = dnsmasq\n")
        result = subprocess.run([sys.executable, "-m", "metalscope.cli", command,
                                 "--config-file", str(conf)],
                                capture_output=True, text=True, timeout=60)
        assert (result.returncode, result.stdout) == (1, "")
        assert result.stderr == message.format(missing=missing) + "\n"


class TestReconfigure:
    """SIGHUP: debug, default_log_levels and log_config_append change a running process."""

    def test_debug_and_levels_change_in_place(self, tmp_path: Path) -> None:
        out = tmp_path / "service.log"
        before = settings_from(tmp_path, f"log_file = {out}\ndebug = False\n"
                                         "default_log_levels = metalscope.tests=ERROR,a.b=INFO\n")
        setup_logging(before)
        handlers = list(logging.getLogger().handlers)
        LOG.error("one")
        after = settings_from(tmp_path, f"log_file = {out}\ndebug = True\n"
                                        "default_log_levels = a.c=WARN\n")
        reconfigure_logging(before, after)
        LOG.debug("two")
        assert logging.getLogger().handlers == handlers  # nothing reopened or replaced
        first, second = lines_of(out)
        assert first.endswith("ERROR metalscope.tests.logging [-] one")
        assert " DEBUG metalscope.tests.logging [-] two " in second
        assert logging.getLogger("a.b").level == logging.NOTSET
        assert logging.getLogger("a.c").level == logging.WARNING

    def test_a_bad_level_changes_nothing(self, tmp_path: Path) -> None:
        before = settings_from(tmp_path, "default_log_levels = a.d=ERROR\n")
        setup_logging(before)
        after = settings_from(tmp_path, "debug = True\ndefault_log_levels = a.d=LOUD\n")
        with pytest.raises(ConfigurationError, match="Invalid default_log_levels entry"):
            reconfigure_logging(before, after)
        assert logging.getLogger("a.d").level == logging.ERROR
        assert logging.getLogger().level == logging.INFO

    def test_the_logging_file_is_read_again(self, tmp_path: Path) -> None:
        first, second = tmp_path / "first.log", tmp_path / "second.log"
        config = tmp_path / "logging.conf"
        config.write_text(TestLogConfigAppend.CONFIG.replace("%(path)r", repr(str(first))))
        settings = settings_from(tmp_path, f"log_config_append = {config}\n")
        setup_logging(settings)
        LOG.info("before")
        config.write_text(TestLogConfigAppend.CONFIG.replace("%(path)r", repr(str(second))))
        reconfigure_logging(settings, settings)
        LOG.info("after")
        assert [line.split()[-1] for line in lines_of(first)] == ["before"]
        assert [line.split()[-1] for line in lines_of(second)] == ["after"]

    def test_a_broken_logging_file_keeps_the_logging_in_force(self, tmp_path: Path) -> None:
        out = tmp_path / "kept.log"
        config = tmp_path / "logging.conf"
        config.write_text(TestLogConfigAppend.CONFIG.replace("%(path)r", repr(str(out))))
        settings = settings_from(tmp_path, f"log_config_append = {config}\n")
        setup_logging(settings)
        config.write_text("not an ini file")
        with pytest.raises(ConfigurationError, match="Error loading logging config"):
            reconfigure_logging(settings, settings)
        LOG.info("still here")
        assert lines_of(out)[-1].endswith("still here")
