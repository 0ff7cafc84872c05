"""Log line formats with oslo.log's semantics: the context and default format strings, the
exception prefix and the debug suffix (:class:`ContextFormatter`), or one JSON object per
line (:class:`JsonFormatter`).

A line logged while a request is served (it has a ``request_id``) uses
``logging_context_format_string``, any other line ``logging_default_format_string``, as
oslo.log chooses. The attributes oslo.log's format strings name are filled from MetalScope's
context (:mod:`metalscope.log_context`):

* ``request_id``, ``global_request_id``: the request's (``None`` prints as ``None`` inside a
  request without a global id, as upstream's lines show it);
* ``instance``: the node being handled, through ``instance_uuid_format``; oslo.log's default
  ``[instance: %(uuid)s] `` is read as ``[node: %(uuid)s] ``, the prefix upstream's own
  processing lines carry, so a line about a node reads ``[-] [node: <uuid>] message``;
* ``user_identity``: ``logging_user_identity_format`` with ``-`` for every value, since
  MetalScope keeps no user in the logging context;
* ``project``, ``version``, ``isotime``, ``error_summary``, ``color`` as oslo.log.

A name the format strings use and nothing fills prints as ``-`` instead of breaking the line.
"""

from __future__ import annotations

import datetime
import json
import logging
import socket
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from metalscope import __version__
from metalscope.log_context import annotate
from metalscope.settings import CONTEXT_FORMAT, DEFAULT_FORMAT, LoggingSection

#: oslo.log's default ``instance_uuid_format``; MetalScope prints nodes, not instances.
OSLO_INSTANCE_UUID_FORMAT = "[instance: %(uuid)s] "
NODE_FORMAT = "[node: %(uuid)s] "
PROJECT = "metalscope"
#: Attributes oslo.log's formatter defaults to empty text.
_EMPTY_BY_DEFAULT = ("color", "resource", "user_name", "project_name")
#: Exceptions whose summary is left out when they were not passed explicitly (oslo.log's
#: choice: they usually mean bad or missing data that the message already explains).
_UNSUMMARISED = (TypeError, ValueError, KeyError, AttributeError, ImportError)


@dataclass(frozen=True)
class LogFormats:
    """The format options of ``[DEFAULT]``, as one value."""

    context: str = CONTEXT_FORMAT
    default: str = DEFAULT_FORMAT
    debug_suffix: str = "%(funcName)s %(pathname)s:%(lineno)d"
    exception_prefix: str = "%(asctime)s.%(msecs)03d %(process)d ERROR %(name)s %(instance)s"
    user_identity: str = ("%(user)s %(project)s %(domain)s %(system_scope)s %(user_domain)s "
                          "%(project_domain)s")
    node: str = NODE_FORMAT
    date: str = "%Y-%m-%d %H:%M:%S"

    @classmethod
    def from_section(cls, section: LoggingSection) -> LogFormats:
        node = section.instance_uuid_format
        return cls(context=section.logging_context_format_string,
                   default=section.logging_default_format_string,
                   debug_suffix=section.logging_debug_format_suffix,
                   exception_prefix=section.logging_exception_prefix,
                   user_identity=section.logging_user_identity_format,
                   node=NODE_FORMAT if node == OSLO_INSTANCE_UUID_FORMAT else node,
                   date=section.log_date_format)


class _Fields(dict[str, Any]):
    """A record's attributes for %-formatting: names nobody filled read as ``-``."""

    def __missing__(self, key: str) -> str:
        return "-"


def _field(record: logging.LogRecord, name: str) -> Any:
    """A context attribute :func:`annotate` set on ``record`` (LogRecord declares none)."""
    return record.__dict__[name]


def fill_record(record: logging.LogRecord, formats: LogFormats) -> None:
    """Give ``record`` every attribute oslo.log's format strings may name (module doc)."""
    annotate(record)
    fields = record.__dict__
    in_request = bool(_field(record, "request_id"))
    if not in_request and _field(record, "global_request_id") is None:
        fields["global_request_id"] = ""
    node_uuid = _field(record, "node_uuid")
    fields["instance"] = _safe(formats.node, {"uuid": node_uuid}) if node_uuid else ""
    fields["user_identity"] = _safe(formats.user_identity, _Fields()) if in_request else ""
    fields.update(project=PROJECT, version=__version__, isotime=isotime(record.created))
    for name in _EMPTY_BY_DEFAULT:
        fields.setdefault(name, "")


def _safe(fmt: str, values: Any) -> str:
    """``fmt % values``, or ``fmt`` itself when it is broken (reported at start-up)."""
    try:
        return str(fmt % values)
    except (ValueError, TypeError, KeyError):
        return fmt


def isotime(created: float) -> str:
    """ISO 8601 local time with microseconds, even when they are zero."""
    moment = datetime.datetime.fromtimestamp(created).astimezone()
    return moment.isoformat(timespec="microseconds")


def error_summary(record: logging.LogRecord) -> str:
    """The exception's one-line summary for WARNING and above (oslo.log's ``error_summary``):
    the record's own exception, else the one being handled while logging, if it is not one
    of the common data errors."""
    if record.levelno < logging.WARNING:
        return ""
    exc_info = record.exc_info or sys.exc_info()
    if exc_info[0] is None or (not record.exc_info and exc_info[0] in _UNSUMMARISED):
        return ""
    summary = traceback.format_exception_only(exc_info[0], exc_info[1])[0].rstrip()
    return summary if record.exc_info else summary.split("\n", 1)[0]


class ContextFormatter(logging.Formatter):
    """oslo.log's ContextFormatter for MetalScope's context (module doc).

    Also usable from a ``log_config_append`` file (``class =
    metalscope.log_format.ContextFormatter``, or oslo.log's class name, which is mapped to
    this one): the file's ``format`` is ignored, as oslo.log ignores it; the formats come
    from the configuration file's options.
    """

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%",
                 *args: Any, formats: LogFormats | None = None, **kwargs: Any) -> None:
        super().__init__(datefmt=datefmt)
        self.formats = formats or LogFormats()

    def format(self, record: logging.LogRecord) -> str:
        fill_record(record, self.formats)
        fmt = self._line_format(record)
        record.message = _message(record)
        record.asctime = self.formatTime(record, self.datefmt)
        if record.exc_info:
            record.exc_text = self._exception_text(record)
        line = fmt % _Fields(record.__dict__)
        if record.exc_text:
            line += "\n" + record.exc_text
        if record.stack_info:
            line += "\n" + self.formatStack(record.stack_info)
        return line

    def _line_format(self, record: logging.LogRecord) -> str:
        fmt = self.formats.context if _field(record, "request_id") else self.formats.default
        summary = error_summary(record)
        if "%(error_summary)s" in fmt:
            record.error_summary = summary or "-"
        elif summary:
            record.error_summary = summary
            fmt += ": %(error_summary)s"
        if record.levelno == logging.DEBUG and self.formats.debug_suffix:
            fmt += " " + self.formats.debug_suffix
        return fmt

    def _exception_text(self, record: logging.LogRecord) -> str:
        """The traceback, every line behind ``logging_exception_prefix``."""
        assert record.exc_info is not None
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        prefix = self.formats.exception_prefix % _Fields(record.__dict__)
        return "\n".join(prefix + line for line in text.split("\n"))


def format_errors(formats: LogFormats) -> list[str]:
    """What is wrong with the format options (a stray ``%``, ``%(name)`` without a
    conversion…), one text per broken option; empty when every option formats."""
    record = logging.LogRecord("metalscope", logging.ERROR, __file__, 1, "sample", None, None)
    record.request_id, record.node_uuid = "req-sample", "00000000-0000-0000-0000-000000000000"
    fill_record(record, formats)
    fields = _Fields(record.__dict__, message="sample", asctime="2000-01-01 00:00:00",
                     error_summary="-")
    options = {"logging_context_format_string": (formats.context, fields),
               "logging_default_format_string": (formats.default, fields),
               "logging_debug_format_suffix": (formats.debug_suffix, fields),
               "logging_exception_prefix": (formats.exception_prefix, fields),
               "logging_user_identity_format": (formats.user_identity, _Fields()),
               "instance_uuid_format": (formats.node, {"uuid": _field(record, "node_uuid")}),
               "log_date_format": (formats.date, None)}
    return [f"{option} = {value!r}: {problem}" for option, (value, values) in options.items()
            if (problem := _format_problem(value, values)) is not None]


def _format_problem(value: str, values: Any) -> str | None:
    try:
        if values is None:
            datetime.datetime(2000, 1, 1).strftime(value)
        else:
            value % values
    except (ValueError, TypeError, KeyError) as exc:
        return str(exc)
    return None


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except (TypeError, ValueError) as exc:
        return f"Error formatting log line msg={record.msg!r} err={exc!r}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line with oslo.log's JSONFormatter keys; ``context`` holds the
    request ids, ``extra`` the node being handled."""

    def __init__(self, fmt: str | None = None, datefmt: str | None = None, style: str = "%",
                 *args: Any, **kwargs: Any) -> None:
        super().__init__(datefmt=datefmt)
        self.hostname = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        annotate(record)
        document = {
            "message": _message(record), "asctime": self.formatTime(record, self.datefmt),
            "name": record.name, "msg": record.msg, "args": record.args,
            "levelname": record.levelname, "levelno": record.levelno,
            "pathname": record.pathname, "filename": record.filename,
            "module": record.module, "lineno": record.lineno, "funcname": record.funcName,
            "created": record.created, "msecs": record.msecs,
            "relative_created": record.relativeCreated, "thread": record.thread,
            "thread_name": record.threadName, "process_name": record.processName,
            "process": record.process, "traceback": self._traceback(record),
            "hostname": self.hostname, "error_summary": error_summary(record),
            "context": _json_context(record), "extra": _json_extra(record)}
        return json.dumps(document, default=repr)

    def _traceback(self, record: logging.LogRecord) -> str | None:
        if not record.exc_info:
            return None
        lines = "".join(traceback.format_exception(*record.exc_info)).splitlines()
        return "\n".join(line for line in lines if line.strip())


def _json_context(record: logging.LogRecord) -> dict[str, Any]:
    request_id = _field(record, "request_id")
    if not request_id:
        return {}
    return {"request_id": request_id, "global_request_id": _field(record, "global_request_id")}


def _json_extra(record: logging.LogRecord) -> dict[str, Any]:
    node_uuid = _field(record, "node_uuid")
    return {"node": node_uuid} if node_uuid else {}


class ContextFields(logging.Filter):
    """Fills every record with the attributes of :func:`fill_record`, for formatters of a
    logging config file that are not a :class:`ContextFormatter`."""

    def __init__(self, formats: LogFormats) -> None:
        super().__init__()
        self.formats = formats

    def filter(self, record: logging.LogRecord) -> bool:
        fill_record(record, self.formats)
        return True


def with_formats(formatter: logging.Formatter | None, formats: LogFormats) -> None:
    """Hand the configured formats to a ContextFormatter built by a logging config file."""
    if isinstance(formatter, ContextFormatter):
        formatter.formats = formats

