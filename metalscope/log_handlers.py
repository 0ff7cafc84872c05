"""Log destinations beyond files and streams, and oslo.log's rate limit.

* :class:`JournalHandler` speaks journald's native protocol: one datagram of ``FIELD=value``
  lines on ``/run/systemd/journal/socket`` (a value with a newline is sent as the field name,
  a newline, its length as 64-bit little-endian and the bytes), and a sealed memfd passed
  over the socket when the entry is too big for a datagram.
* :class:`SyslogHandler` sends ``<PRI>identifier: line`` datagrams to ``/dev/log``.
* :class:`ColorStreamHandler` colours lines by level (``log_color``).
* :class:`RateLimitFilter` drops records past ``rate_limit_burst`` per
  ``rate_limit_interval`` seconds.

Both socket handlers reconnect when the daemon comes back; a line that cannot be delivered
is dropped (and counted), never raised into the code that logged it.
"""

from __future__ import annotations

import array
import errno
import fcntl
import logging
import os
import socket
import struct
import time
import traceback
from collections.abc import Callable
from typing import Any, ClassVar, TextIO

JOURNAL_SOCKET = "/run/systemd/journal/socket"
SYSLOG_SOCKET = "/dev/log"
#: syslog facility codes (RFC 5424), by the names oslo.log accepts.
FACILITIES = {
    "LOG_KERN": 0, "LOG_USER": 1, "LOG_MAIL": 2, "LOG_DAEMON": 3, "LOG_AUTH": 4,
    "LOG_SYSLOG": 5, "LOG_LPR": 6, "LOG_NEWS": 7, "LOG_UUCP": 8, "LOG_CRON": 9,
    "LOG_AUTHPRIV": 10, "LOG_FTP": 11,
    **{f"LOG_LOCAL{n}": 16 + n for n in range(8)},
}
_MEMFD_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL


def facility_code(name: str) -> int:
    """The facility of ``syslog_log_facility`` (``LOG_USER``, ``user``, ``local0`` …)."""
    key = name.strip().upper()
    key = key if key.startswith("LOG_") else "LOG_" + key
    if key not in FACILITIES:
        raise ValueError("syslog facility must be one of: "
                         + ", ".join(f"'{known}'" for known in FACILITIES))
    return FACILITIES[key]


def severity(levelno: int) -> int:
    """syslog severity of a logging level: 2 critical, 3 error, 4 warning, 6 info, 7 debug."""
    for floor, code in ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4),
                        (logging.INFO, 6)):
        if levelno >= floor:
            return code
    return 7


class _DatagramHandler(logging.Handler):
    """Sends each record as one datagram to a UNIX socket, reconnecting once per record."""

    def __init__(self, address: str) -> None:
        super().__init__()
        self.address = address
        self.dropped = 0
        self._sock: socket.socket | None = None

    def payload(self, record: logging.LogRecord) -> bytes:
        raise NotImplementedError

    def connect(self) -> socket.socket:
        """The connected socket (OSError when the daemon cannot be reached)."""
        if self._sock is None:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            try:
                sock.connect(self.address)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def emit(self, record: logging.LogRecord) -> None:
        try:
            data = self.payload(record)
        except Exception:
            self.handleError(record)
            return
        for _attempt in range(2):
            try:
                self.send(self.connect(), data)
                return
            except OSError:
                self._disconnect()
        self.dropped += 1

    def send(self, sock: socket.socket, data: bytes) -> None:
        sock.send(data)

    def _disconnect(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def close(self) -> None:
        self.acquire()
        try:
            self._disconnect()
        finally:
            self.release()
        super().close()


class SyslogHandler(_DatagramHandler):
    """``<PRI>program: line`` to the syslog socket, PRI from the facility and the level."""

    def __init__(self, program: str, facility: int, address: str = SYSLOG_SOCKET) -> None:
        super().__init__(address)
        self.program = program
        self.facility = facility

    def payload(self, record: logging.LogRecord) -> bytes:
        priority = self.facility * 8 + severity(record.levelno)
        return f"<{priority}>{self.program}: {self.format(record)}".encode()


class JournalHandler(_DatagramHandler):
    """A journal entry per record: the fields of oslo.log's journal handler, plus
    ``GLOBAL_REQUEST_ID`` and ``NODE_UUID``. ``SYSLOG_FACILITY`` is the facility's number
    (1 for ``LOG_USER``) and ``EXCEPTION_INFO`` the plain traceback, without the line
    prefix ``MESSAGE`` repeats on each of its lines."""

    def __init__(self, program: str, facility: int, address: str = JOURNAL_SOCKET) -> None:
        super().__init__(address)
        self.program = program
        self.facility = facility

    def payload(self, record: logging.LogRecord) -> bytes:
        return b"".join(journal_field(name, value)
                        for name, value in self.fields(record).items() if value is not None)

    def fields(self, record: logging.LogRecord) -> dict[str, Any]:
        message = self.format(record)
        exception = _traceback_text(record) or record.exc_text
        return {
            "MESSAGE": message, "PRIORITY": severity(record.levelno),
            "SYSLOG_FACILITY": self.facility, "SYSLOG_IDENTIFIER": self.program,
            "CODE_FILE": record.pathname, "CODE_LINE": record.lineno,
            "CODE_FUNC": record.funcName, "LOGGER_NAME": record.name,
            "LOGGER_LEVEL": record.levelname, "THREAD_NAME": record.threadName,
            "PROCESS_NAME": record.processName, "EXCEPTION_INFO": exception,
            "EXCEPTION_TEXT": exception,
            "REQUEST_ID": getattr(record, "request_id", None) or None,
            "GLOBAL_REQUEST_ID": getattr(record, "global_request_id", None) or None,
            "NODE_UUID": getattr(record, "node_uuid", None)}

    def send(self, sock: socket.socket, data: bytes) -> None:
        try:
            sock.send(data)
        except OSError as exc:
            if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                raise
            send_memfd(sock, data)


def _traceback_text(record: logging.LogRecord) -> str | None:
    if not record.exc_info:
        return None
    return "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")


def journal_field(name: str, value: Any) -> bytes:
    """One field of journald's native protocol."""
    data = str(value).encode()
    if b"\n" not in data:
        return name.encode() + b"=" + data + b"\n"
    return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"


def send_memfd(sock: socket.socket, data: bytes) -> None:
    """journald's way for entries larger than a datagram: the bytes in a sealed memfd,
    passed as the only content of an empty datagram."""
    fd = os.memfd_create("metalscope-journal", os.MFD_ALLOW_SEALING)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _MEMFD_SEALS)
        sock.sendmsg([], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))])
    finally:
        os.close(fd)


class ColorStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Sets ``%(color)s`` by level and resets the colour at the end of each line."""

    LEVEL_COLORS: ClassVar[dict[int, str]] = {
        logging.DEBUG: "\033[00;32m", logging.INFO: "\033[00;36m",
        logging.WARNING: "\033[01;33m", logging.ERROR: "\033[01;31m",
        logging.CRITICAL: "\033[01;31m"}
    RESET = "\033[00m"

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)

    def format(self, record: logging.LogRecord) -> str:
        record.color = self.LEVEL_COLORS.get(record.levelno, "\033[00;35m")
        return super().format(record) + self.RESET


class RateLimitFilter(logging.Filter):
    """At most ``burst`` records per ``interval`` seconds pass; records at or above
    ``except_level`` always pass (None: none are exempt). When the limit is first exceeded
    in an interval, one ERROR record says so.

    One instance is shared by every handler: a record that several handlers see is counted
    once and gets the same verdict everywhere.
    """

    def __init__(self, burst: int, interval: int, except_level: int | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.burst, self.interval, self.except_level = burst, interval, except_level
        self._clock = clock
        self._end = float("-inf")
        self._count = 0
        self._reporting = False
        self._last: tuple[logging.LogRecord | None, bool] = (None, True)

    def filter(self, record: logging.LogRecord) -> bool:
        if self._last[0] is record:
            return self._last[1]
        verdict = self._passes(record)
        self._last = (record, verdict)
        return verdict

    def _passes(self, record: logging.LogRecord) -> bool:
        if self._reporting or (self.except_level is not None
                               and record.levelno >= self.except_level):
            return True
        now = self._clock()
        if now >= self._end:
            self._end, self._count = now + self.interval, 0
        self._count += 1
        if self._count == self.burst + 1:
            self._report()
        return self._count <= self.burst

    def _report(self) -> None:
        self._reporting = True
        try:
            logging.getLogger(__name__).error("Logging rate limit: drop after %s records/%s sec",
                                              self.burst, self.interval)
        finally:
            self._reporting = False
