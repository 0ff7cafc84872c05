"""The health check's answer in each form oslo.middleware offers: plain text, JSON, HTML.

The layouts (whitespace included) are oslo.middleware's, so a monitor parsing upstream's
page parses this one. Detailed pages add the host, time, Python, platform, garbage
collector and the stack of every thread, as upstream's do.
"""

from __future__ import annotations

import datetime
import gc
import json
import platform
import socket
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from metalscope.api.middleware.healthcheck_backends import HealthcheckResult

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"})
TABLE = '<TABLE bgcolor="#ffffff" border="1">\n<TBODY>\n'


def escape(value: object) -> str:
    return str(value).translate(_ESCAPES)


@dataclass(frozen=True)
class ServerStatus:
    """What a detailed page tells about the process, taken when the page is made."""

    now: str
    python_version: str
    platform: str
    gc_counts: tuple[int, ...]
    gc_threshold: tuple[int, ...]
    threads: tuple[str, ...]
    hostname: str | None

    @classmethod
    def current(cls) -> ServerStatus:
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        stacks = tuple("".join(traceback.format_stack(frame))
                       for frame in sys._current_frames().values())
        try:
            hostname: str | None = socket.gethostname()
        except OSError:
            hostname = None
        return cls(str(now), sys.version, platform.platform(), gc.get_count(),
                   gc.get_threshold(), stacks, hostname)


def result_entry(result: HealthcheckResult) -> dict[str, str]:
    return {"reason": result.reason, "details": result.details,
            "class": type(result).__name__}


def text_page(results: list[HealthcheckResult]) -> str:
    return "\n".join(result.reason for result in results).strip()


def json_page(results: list[HealthcheckResult], status: ServerStatus | None) -> str:
    body: dict[str, Any] = {"detailed": False, "reasons": [r.reason for r in results]}
    if status is not None:
        body = {"detailed": True, "python_version": status.python_version, "now": status.now,
                "platform": status.platform,
                "gc": {"counts": status.gc_counts, "threshold": status.gc_threshold},
                "reasons": [result_entry(r) for r in results], "greenthreads": [],
                "threads": list(status.threads)}
    return json.dumps(body, indent=4, sort_keys=True)


def html_page(results: list[HealthcheckResult], status: ServerStatus | None) -> str:
    detailed = status is not None
    head = ("<HTML>\n<HEAD><TITLE>Healthcheck Status</TITLE></HEAD>\n<BODY>\n"
            + (_html_status(status) if status else "")
            + f"\n<H2>Result of {len(results)} checks:</H2>\n{TABLE}<TR>\n")
    columns = ("Kind", "Reason", "Details") if detailed else ("Reason",)
    header = "".join(f"<TH>\n{name}\n</TH>\n" for name in columns)
    header = header if detailed else "\n" + header.rstrip("\n")
    rows = "".join(_html_row(result, detailed) for result in results if result.reason)
    tail = (f"{header}\n</TR>\n{rows}\n</TBODY>\n</TABLE>\n<HR></HR>\n"
            + (_html_threads(status.threads) if status else "") + "\n</BODY>\n</HTML>")
    return head + tail


def _html_status(status: ServerStatus) -> str:
    hostname = f"<B>Server hostname:</B><PRE>{escape(status.hostname)}</PRE>" \
        if status.hostname else ""
    return (f"<H1>Server status</H1>\n{hostname}\n"
            f"<B>Current time:</B><PRE>{escape(status.now)}</PRE>\n"
            f"<B>Python version:</B><PRE>{escape(status.python_version)}</PRE>\n"
            f"<B>Platform:</B><PRE>{escape(status.platform)}</PRE>\n<HR></HR>\n"
            f"<H2>Garbage collector:</H2>\n<B>Counts:</B><PRE>{escape(status.gc_counts)}</PRE>\n"
            f"<B>Thresholds:</B><PRE>{escape(status.gc_threshold)}</PRE>\n<HR></HR>")


def _html_row(result: HealthcheckResult, detailed: bool) -> str:
    entry = result_entry(result)
    if detailed:
        return (f"<TR>\n<TD>{escape(entry['class'])}</TD>\n    <TD>{escape(result.reason)}"
                f"</TD>\n<TD>{escape(result.details)}</TD>\n</TR>")
    return f"<TR>\n\n    <TD>{escape(result.reason)}</TD>\n\n</TR>"


def _html_threads(threads: tuple[str, ...]) -> str:
    if not threads:
        return "\n"
    rows = "".join(f"<TR>\n    <TD><PRE>{escape(stack)}</PRE></TD>\n</TR>" for stack in threads)
    return f"\n<H2>{len(threads)} thread(s) active:</H2>\n{TABLE}{rows}\n</TBODY>\n</TABLE>"

