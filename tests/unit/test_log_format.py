"""ContextFormatter and JsonFormatter: oslo.log's line formats filled from MetalScope's
logging context."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

import pytest

from metalscope import log_context
from metalscope.log_format import (
    ContextFormatter,
    JsonFormatter,
    LogFormats,
    error_summary,
    format_errors,
    isotime,
)

NODE = "6f1d3c9e-4c55-4b8e-9a7d-1f0e2b3c4d5e"


def record(message: str = "message", level: int = logging.INFO, args: Any = None,
           exc_info: Any = None, **extra: Any) -> logging.LogRecord:
    made = logging.LogRecord("metalscope.x", level, "/src/x.py", 7, message, args, exc_info,
                             func="do_it")
    made.__dict__.update(extra)
    return made


def formatted(formats: LogFormats, made: logging.LogRecord) -> str:
    return ContextFormatter(formats=formats).format(made)


class TestChoiceOfFormat:
    FORMATS = LogFormats(context="C[%(global_request_id)s %(request_id)s %(user_identity)s] "
                                 "%(instance)s%(message)s",
                         default="D[-] %(instance)s%(message)s", debug_suffix="")

    def test_default_format_outside_a_request(self) -> None:
        """No request: the default format, even for a node."""
        with log_context.bound(NODE):
            line = formatted(self.FORMATS, record())
        assert line == f"D[-] [node: {NODE}] message"

    def test_context_format_inside_a_request(self) -> None:
        """A request: the context format; no global id prints None, the identity dashes."""
        with log_context.bound_request("req-a"):
            assert formatted(self.FORMATS, record()) == "C[None req-a - - - - - -] message"

    def test_request_id_given_by_the_call(self) -> None:
        """extra={'request_id': ...} wins over the bound request."""
        with log_context.bound_request("req-a", "req-g"):
            line = formatted(self.FORMATS, record(request_id="req-own"))
        assert line == "C[None req-own - - - - - -] message"

    def test_unknown_names_print_a_dash(self) -> None:
        """A name nothing fills (a context value MetalScope lacks) prints '-'."""
        formats = LogFormats(default="%(tenant)s %(user_name)s|%(resource)s|%(message)s")
        assert formatted(formats, record()) == "- ||message"

    def test_project_version_isotime(self) -> None:
        """project, version and isotime are there for format strings that name them."""
        made = record()
        line = formatted(LogFormats(default="%(project)s %(version)s %(isotime)s"), made)
        project, version, stamp = line.split()
        assert (project, stamp) == ("metalscope", isotime(made.created))
        assert version.count(".") == 2 and len(stamp.split(".")[1]) >= 6

    def test_bad_arguments_still_log(self) -> None:
        """A message whose arguments do not fit is reported in the line, not raised."""
        line = formatted(LogFormats(default="%(message)s"), record("%d items", args=("x",)))
        assert line.startswith("Error formatting log line msg='%d items' err=TypeError(")


class TestErrorSummary:
    def test_explicit_exception_at_warning(self) -> None:
        """exc_info given: its summary, at WARNING and above only."""
        try:
            raise KeyError("k")
        except KeyError:
            info = sys.exc_info()
        assert error_summary(record(level=logging.WARNING, exc_info=info)) == "KeyError: 'k'"
        assert error_summary(record(level=logging.INFO, exc_info=info)) == ""

    def test_active_exception_unless_common_data_error(self) -> None:
        """The exception being handled counts too, except TypeError/ValueError/KeyError…"""
        try:
            raise OSError("disk gone")
        except OSError:
            assert error_summary(record(level=logging.ERROR)) == "OSError: disk gone"
        try:
            raise ValueError("bad")
        except ValueError:
            assert error_summary(record(level=logging.ERROR)) == ""
        assert error_summary(record(level=logging.ERROR)) == ""

    def test_summary_appended_or_placed(self) -> None:
        """Appended as ': summary', or where the format names %(error_summary)s ('-' if none)."""
        try:
            raise OSError("disk gone")
        except OSError:
            appended = formatted(LogFormats(default="%(message)s"), record(level=logging.ERROR))
            placed = formatted(LogFormats(default="%(error_summary)s|%(message)s"),
                               record(level=logging.ERROR))
        assert appended == "message: OSError: disk gone"
        assert placed == "OSError: disk gone|message"
        placed_format = LogFormats(default="%(error_summary)s|%(message)s")
        assert formatted(placed_format, record()) == "-|message"


class TestExceptionAndDebug:
    def test_traceback_lines_get_the_prefix(self) -> None:
        """Every traceback line starts with logging_exception_prefix; no trailing blank."""
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            made = record(level=logging.ERROR, exc_info=sys.exc_info())
        formats = LogFormats(default="%(message)s", exception_prefix="! %(levelname)s %(instance)s")
        with log_context.bound(NODE):
            lines = formatted(formats, made).split("\n")
        assert lines[0] == "message: RuntimeError: boom"
        assert lines[1] == f"! ERROR [node: {NODE}] Traceback (most recent call last):"
        assert lines[-1] == f"! ERROR [node: {NODE}] RuntimeError: boom"

    def test_debug_suffix_only_for_debug(self) -> None:
        """logging_debug_format_suffix is added to DEBUG lines only."""
        formats = LogFormats(default="%(message)s", debug_suffix="%(funcName)s %(lineno)d")
        assert formatted(formats, record(level=logging.DEBUG)) == "message do_it 7"
        assert formatted(formats, record(level=logging.INFO)) == "message"

    def test_custom_instance_uuid_format(self) -> None:
        """instance_uuid_format other than oslo.log's default is used as given."""
        formats = LogFormats(default="%(instance)s%(message)s", node="<%(uuid)s> ")
        with log_context.bound(NODE):
            assert formatted(formats, record()) == f"<{NODE}> message"


class TestFormatErrors:
    def test_defaults_are_fine(self) -> None:
        """oslo.log's default formats pass the start-up check."""
        assert format_errors(LogFormats()) == []

    @pytest.mark.parametrize(("field", "value", "option"), [
        ("default", "%(message)", "logging_default_format_string"),
        ("context", "%(message)s %", "logging_context_format_string"),
        ("exception_prefix", "%(name)s %(lineno)s %q", "logging_exception_prefix"),
        ("node", "[%(uuid)d] ", "instance_uuid_format"),
    ])
    def test_broken_option_named(self, field: str, value: str, option: str) -> None:
        """Each broken option is reported by its name."""
        [problem] = format_errors(LogFormats(**{field: value}))
        assert problem.startswith(f"{option} = {value!r}: ")


class TestJson:
    def test_document(self) -> None:
        """oslo.log's keys; the request in context, the node in extra, a clean traceback."""
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            made = record("count %d", level=logging.ERROR, args=(3,), exc_info=sys.exc_info())
        with log_context.bound(NODE), log_context.bound_request("req-j", "req-g"):
            document = json.loads(JsonFormatter().format(made))
        assert (document["message"], document["levelname"], document["funcname"],
                document["lineno"]) == ("count 3", "ERROR", "do_it", 7)
        assert document["context"] == {"request_id": "req-j", "global_request_id": "req-g"}
        assert document["extra"] == {"node": NODE}
        assert document["error_summary"] == "RuntimeError: boom"
        assert document["traceback"].splitlines()[-1] == "RuntimeError: boom"
        assert {"asctime", "created", "hostname", "process", "thread_name"} <= set(document)

    def test_unserialisable_arguments(self) -> None:
        """Arguments JSON cannot take are written as their repr."""
        document = json.loads(JsonFormatter().format(record("%s", args=(object,))))
        assert document["args"] == [repr(object)] and document["context"] == {}
