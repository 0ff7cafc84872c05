"""Journal field encoding, syslog facilities and levels, the colour handler and the rate
limit filter."""

from __future__ import annotations

import io
import logging
import struct

import pytest

from metalscope.log_handlers import (
    ColorStreamHandler,
    RateLimitFilter,
    facility_code,
    journal_field,
    severity,
)


class TestJournalField:
    def test_simple_value(self) -> None:
        """A value without a newline is KEY=value."""
        assert journal_field("PRIORITY", 6) == b"PRIORITY=6\n"

    def test_value_with_newlines(self) -> None:
        """A value with a newline: KEY, newline, 64-bit little-endian length, bytes, newline."""
        value = "line one\nline two é"
        data = value.encode()
        assert journal_field("MESSAGE", value) == (
            b"MESSAGE\n" + struct.pack("<Q", len(data)) + data + b"\n")


class TestSyslogCodes:
    @pytest.mark.parametrize(("name", "code"), [
        ("LOG_USER", 1), ("user", 1), ("local0", 16), ("LOG_LOCAL7", 23), ("daemon", 3),
        (" Log_Auth ", 4)])
    def test_facilities(self, name: str, code: int) -> None:
        """oslo.log's spellings: with or without LOG_, any case."""
        assert facility_code(name) == code

    def test_unknown_facility(self) -> None:
        with pytest.raises(ValueError, match=r"^syslog facility must be one of: 'LOG_KERN', "):
            facility_code("LOG_BOGUS")

    @pytest.mark.parametrize(("level", "code"), [
        (logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6),
        (logging.DEBUG, 7), (5, 7), (25, 6)])
    def test_severity(self, level: int, code: int) -> None:
        """Levels map to syslog severities; in-between levels take the one below them."""
        assert severity(level) == code


class TestColor:
    def test_levels_coloured_and_reset(self) -> None:
        stream = io.StringIO()
        handler = ColorStreamHandler(stream)
        handler.setFormatter(logging.Formatter("%(color)s%(message)s"))
        for level in (logging.INFO, logging.ERROR):
            handler.handle(logging.LogRecord("x", level, "f", 1, "text", None, None))
        assert stream.getvalue() == "\033[00;36mtext\033[00m\n\033[01;31mtext\033[00m\n"


class TestRateLimit:
    def make(self, except_level: int | None = logging.CRITICAL
             ) -> tuple[RateLimitFilter, list[float]]:
        now = [100.0]
        return RateLimitFilter(2, 10, except_level, clock=lambda: now[0]), now

    def passes(self, limit: RateLimitFilter, level: int = logging.INFO) -> bool:
        return bool(limit.filter(logging.LogRecord("x", level, "f", 1, "m", None, None)))

    def test_burst_then_drop_then_new_interval(self, caplog: pytest.LogCaptureFixture) -> None:
        """burst records pass, the rest of the interval is dropped with one notice."""
        limit, now = self.make()
        with caplog.at_level(logging.ERROR, logger="metalscope.log_handlers"):
            assert [self.passes(limit) for _ in range(5)] == [True, True, False, False, False]
        assert [r.getMessage() for r in caplog.records] == [
            "Logging rate limit: drop after 2 records/10 sec"]
        now[0] += 10
        assert [self.passes(limit) for _ in range(3)] == [True, True, False]

    def test_except_level(self) -> None:
        """Records at or above the except level always pass; None exempts nothing."""
        limit, _now = self.make(logging.ERROR)
        assert [self.passes(limit) for _ in range(3)] == [True, True, False]
        assert self.passes(limit, logging.ERROR) and self.passes(limit, logging.CRITICAL)
        strict, _now = self.make(None)
        assert [self.passes(strict, logging.CRITICAL) for _ in range(3)] == [True, True, False]

    def test_same_record_same_verdict(self) -> None:
        """A record seen by several handlers counts once."""
        limit, _now = self.make()
        made = logging.LogRecord("x", logging.INFO, "f", 1, "m", None, None)
        assert [limit.filter(made) for _ in range(4)] == [True] * 4
        assert self.passes(limit) and not self.passes(limit)
