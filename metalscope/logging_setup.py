"""The root logger from oslo.log's ``[DEFAULT]`` options, with oslo.log's semantics.

Called once by ``metalscope serve`` and ``metalscope pxe-filter`` before anything else
logs. Where lines go:

* ``log_file`` / ``log_dir``: a file (``log_dir`` alone: ``<log_dir>/<program>.log``),
  reopened when moved away (logrotate), or rotated by MetalScope itself with
  ``log_rotation_type = size`` or ``interval``;
* ``use_stderr``: standard error; ``use_journal``: journald; ``use_syslog``: syslog with
  ``syslog_log_facility``;
* standard output when neither a file, standard error nor the journal is chosen.

Every destination gets the same formatter (:mod:`metalscope.log_format`; ``use_json`` for
JSON lines), the context filter and, when configured, the rate limit. ``debug`` sets the
root level, ``default_log_levels`` the levels of named loggers. ``log_config_append`` names
a :func:`logging.config.fileConfig` file that replaces all of this, as in oslo.log.

A problem that would lose every line (a log file that cannot be opened, journald as the
only destination and unreachable, a broken format string, a bad level or facility) stops
start-up with a :class:`~metalscope.errors.ConfigurationError`; an unreachable syslog or
journal next to another destination is only warned about.
"""

from __future__ import annotations

import configparser
import logging
import logging.config
import logging.handlers
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import TextIO

from metalscope.errors import ConfigurationError
from metalscope.log_context import ContextFilter
from metalscope.log_format import (
    ContextFields,
    ContextFormatter,
    JsonFormatter,
    LogFormats,
    format_errors,
    with_formats,
)
from metalscope.log_handlers import (
    JOURNAL_SOCKET,
    SYSLOG_SOCKET,
    ColorStreamHandler,
    JournalHandler,
    RateLimitFilter,
    SyslogHandler,
    facility_code,
)
from metalscope.settings import LoggingSection, Settings

LOG = logging.getLogger(__name__)
#: ``log_rotate_interval_type`` → TimedRotatingFileHandler's ``when``.
ROTATE_WHEN = {"seconds": "S", "minutes": "M", "hours": "H", "days": "D", "weekday": "W",
               "midnight": "MIDNIGHT"}
_LEVELS = {"CRITICAL": logging.CRITICAL, "ERROR": logging.ERROR, "WARNING": logging.WARNING,
           "INFO": logging.INFO, "DEBUG": logging.DEBUG}
#: oslo.log's classes named in logging config files, and the MetalScope classes used instead.
OSLO_CLASSES = {
    "oslo_log.formatters.ContextFormatter": "metalscope.log_format.ContextFormatter",
    "oslo_log.formatters.JSONFormatter": "metalscope.log_format.JsonFormatter",
    "oslo_log.handlers.ColorHandler": "metalscope.log_handlers.ColorStreamHandler",
}


@dataclass(frozen=True)
class Sockets:
    """Where journald and syslog listen (tests point them at their own sockets)."""

    journal: str = JOURNAL_SOCKET
    syslog: str = SYSLOG_SOCKET


def setup_logging(settings: Settings, program: str = "metalscope",
                  sockets: Sockets = Sockets()) -> None:
    """Configure the root logger from ``settings.logging`` (module doc)."""
    section = settings.logging
    formats = LogFormats.from_section(section)
    if section.log_config_append:
        load_config_file(section.log_config_append, formats)
    else:
        _check_formats(formats)
        handlers = build_handlers(section, program, sockets)
        _dress(handlers, section, formats)
        unreachable = _unreachable(handlers)
        install(handlers, section.debug)
        apply_levels(section.default_log_levels)
        for problem in unreachable:
            LOG.warning("%s", problem)
    sys.excepthook = _logging_excepthook(program)
    for note in ignored_options(settings):
        LOG.warning("%s", note)


# -- destinations ----------------------------------------------------------------------------
def log_file_path(section: LoggingSection, program: str) -> str | None:
    """``log_file`` (inside ``log_dir`` when both are set), or ``<log_dir>/<program>.log``."""
    if section.log_file:
        return os.path.join(section.log_dir or "", section.log_file)
    if section.log_dir:
        return os.path.join(section.log_dir, f"{program}.log")
    return None


def build_handlers(section: LoggingSection, program: str,
                   sockets: Sockets) -> list[logging.Handler]:
    """The handlers in oslo.log's order; standard output when nothing else would show lines."""
    handlers: list[logging.Handler] = []
    path = log_file_path(section, program)
    if path:
        handlers.append(file_handler(path, section))
    if section.use_stderr:
        handlers.append(stream_handler(sys.stderr, section.log_color))
    if section.use_journal:
        handlers.append(JournalHandler(program, _facility(section), sockets.journal))
    if not (path or section.use_stderr or section.use_journal):
        handlers.append(stream_handler(sys.stdout, section.log_color))
    if section.use_syslog:
        handlers.append(SyslogHandler(program, _facility(section), sockets.syslog))
    return handlers


def file_handler(path: str, section: LoggingSection) -> logging.Handler:
    """A watched file, or one rotated by size or at intervals (``log_rotation_type``)."""
    rotation = section.log_rotation_type.lower()
    try:
        if rotation == "size":
            return logging.handlers.RotatingFileHandler(
                path, maxBytes=section.max_logfile_size_mb * 1024 * 1024,
                backupCount=section.max_logfile_count)
        if rotation == "interval":
            return _interval_handler(path, section)
        return logging.handlers.WatchedFileHandler(path)
    except OSError as exc:
        raise ConfigurationError(f"Cannot open the log file {path}: {exc.strerror}") from exc


def _interval_handler(path: str, section: LoggingSection) -> logging.Handler:
    when = ROTATE_WHEN[section.log_rotate_interval_type.lower()]
    interval = section.log_rotate_interval
    if when == "W":
        # log_rotate_interval names the weekday (0 = Monday) and the file rotates weekly.
        when, interval = f"W{interval}", 1
    try:
        return logging.handlers.TimedRotatingFileHandler(
            path, when=when, interval=interval, backupCount=section.max_logfile_count)
    except ValueError as exc:
        raise ConfigurationError(f"Invalid log rotation interval: {exc}") from exc


def stream_handler(stream: TextIO, color: bool) -> logging.Handler:
    return ColorStreamHandler(stream) if color else logging.StreamHandler(stream)


def _facility(section: LoggingSection) -> int:
    try:
        return facility_code(section.syslog_log_facility)
    except ValueError as exc:
        raise ConfigurationError(f"Invalid syslog_log_facility: {exc}") from exc


def _unreachable(handlers: list[logging.Handler]) -> list[str]:
    """Warnings for journald or syslog sockets that cannot be reached; an error when they
    are the only destinations."""
    problems = []
    for handler in handlers:
        if isinstance(handler, (JournalHandler, SyslogHandler)):
            try:
                handler.connect()
            except OSError as exc:
                name = "journald" if isinstance(handler, JournalHandler) else "syslog"
                problems.append(f"Cannot send log lines to {name} at {handler.address} "
                                f"({exc.strerror}); they are dropped until it answers")
    if problems and len(problems) == len(handlers):
        for handler in handlers:
            handler.close()
        raise ConfigurationError("; ".join(problems))
    return problems


# -- formatting, levels ----------------------------------------------------------------------
def _check_formats(formats: LogFormats) -> None:
    problems = format_errors(formats)
    if problems:
        raise ConfigurationError("Invalid logging format option: " + "; ".join(problems))


def _dress(handlers: list[logging.Handler], section: LoggingSection,
           formats: LogFormats) -> None:
    """Formatter, context filter and rate limit on every handler."""
    rate_limit = rate_limit_filter(section)
    for handler in handlers:
        handler.setFormatter(JsonFormatter(datefmt=formats.date) if section.use_json
                             else ContextFormatter(datefmt=formats.date, formats=formats))
        handler.addFilter(ContextFilter())
        if rate_limit is not None:
            handler.addFilter(rate_limit)


def rate_limit_filter(section: LoggingSection) -> RateLimitFilter | None:
    """oslo.log's rate limit: on when both the burst and the interval are at least 1."""
    if section.rate_limit_burst < 1 or section.rate_limit_interval < 1:
        return None
    except_level = _LEVELS.get(section.rate_limit_except_level.upper())
    return RateLimitFilter(section.rate_limit_burst, section.rate_limit_interval, except_level)


def install(handlers: list[logging.Handler], debug: bool) -> None:
    """Make ``handlers`` the root logger's only handlers; DEBUG or INFO."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def apply_levels(pairs: list[str]) -> None:
    """``logger=LEVEL`` pairs (a level name or number) from ``default_log_levels``."""
    for name, level in parse_levels(pairs):
        logging.getLogger(name).setLevel(level)


def parse_levels(pairs: list[str]) -> list[tuple[str, int]]:
    """``default_log_levels`` as (logger, level); ConfigurationError on an unknown level."""
    levels = []
    for pair in pairs:
        name, _sep, level = pair.partition("=")
        text = level.strip()
        value = int(text) if text.isdigit() else logging.getLevelName(text.upper())
        if not isinstance(value, int):
            raise ConfigurationError(
                f"Invalid default_log_levels entry {pair!r}: Unknown level: {text!r}")
        levels.append((name.strip(), value))
    return levels


# -- SIGHUP ----------------------------------------------------------------------------------
def reconfigure_logging(old: Settings, new: Settings) -> None:
    """Apply the logging options that may change while the process runs, as oslo.log's
    mutate hook does: ``debug``, ``default_log_levels`` and ``log_config_append`` (whose
    file is read again whenever it is set). A ConfigurationError leaves the logging as it
    was, except when a new ``log_config_append`` file fails half-way through loading: the
    previous configuration is then put back before the error is raised."""
    before, after = old.logging, new.logging
    if after.log_config_append:
        _reload_config_file(old, after)
        return
    if before.log_config_append:
        setup_logging(new)
        return
    levels = parse_levels(after.default_log_levels)
    for name, _level in parse_levels(before.default_log_levels):
        logging.getLogger(name).setLevel(logging.NOTSET)
    for name, level in levels:
        logging.getLogger(name).setLevel(level)
    logging.getLogger().setLevel(logging.DEBUG if after.debug else logging.INFO)


def _reload_config_file(old: Settings, section: LoggingSection) -> None:
    assert section.log_config_append
    logging.getLogger().setLevel(logging.DEBUG if section.debug else logging.INFO)
    try:
        read_config_file(section.log_config_append)
    except Exception as exc:  # the file is only read: nothing changed yet
        raise ConfigurationError(f"Error loading logging config {section.log_config_append}: "
                                 f"{_describe(exc)}") from exc
    try:
        load_config_file(section.log_config_append, LogFormats.from_section(section))
    except ConfigurationError:
        setup_logging(old)
        raise


# -- log_config_append -----------------------------------------------------------------------
def load_config_file(path: str, formats: LogFormats) -> None:
    """Replace the logging configuration with the fileConfig file at ``path``.

    Every existing logger is reset first (as oslo.log does, since fileConfig leaves loggers
    it does not name alone). oslo.log's formatter and colour handler classes are mapped to
    MetalScope's; every handler gets a filter that fills the context attributes, so any
    formatter may name ``request_id``, ``instance`` and the rest.
    """
    try:
        parser = read_config_file(path)
        reset_loggers()
        logging.config.fileConfig(parser, disable_existing_loggers=False)
    except Exception as exc:  # fileConfig evaluates handler arguments: anything can fail
        raise ConfigurationError(f"Error loading logging config {path}: "
                                 f"{_describe(exc)}") from exc
    for handler in all_handlers():
        handler.addFilter(ContextFields(formats))
        with_formats(handler.formatter, formats)


def read_config_file(path: str) -> configparser.ConfigParser:
    """The file as fileConfig reads it, oslo.log's class names replaced."""
    parser = configparser.ConfigParser()
    with open(path, encoding="utf-8") as stream:
        parser.read_file(stream)
    for name in parser.sections():
        if name.startswith(("formatter_", "handler_")):
            known = parser.get(name, "class", raw=True, fallback="")
            if known.strip() in OSLO_CLASSES:
                parser.set(name, "class", OSLO_CLASSES[known.strip()])
    return parser


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing section or option {exc}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def _loggers() -> Iterator[logging.Logger]:
    yield logging.getLogger()
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            yield logger


def reset_loggers() -> None:
    for logger in _loggers():
        logger.setLevel(logging.NOTSET)
        logger.handlers = []
        logger.propagate = True


def all_handlers() -> Iterator[logging.Handler]:
    seen: set[int] = set()
    for logger in _loggers():
        for handler in logger.handlers:
            if id(handler) not in seen:
                seen.add(id(handler))
                yield handler


# -- the rest --------------------------------------------------------------------------------
def ignored_options(settings: Settings) -> list[str]:
    """oslo.log options set to something MetalScope cannot do."""
    notes = []
    if settings.logging.publish_errors:
        notes.append("[DEFAULT]publish_errors is ignored: publishing errors as notifications "
                     "needs oslo.messaging, which MetalScope does not use")
    if settings.logging.use_eventlog:
        notes.append("[DEFAULT]use_eventlog is ignored: there is no Windows event log here")
    return notes


def _logging_excepthook(program: str) -> Callable[
        [type[BaseException], BaseException, TracebackType | None], None]:
    def hook(kind: type[BaseException], value: BaseException,
             tb: TracebackType | None) -> None:
        logging.getLogger(program).critical("Unhandled error", exc_info=(kind, value, tb))
    return hook
