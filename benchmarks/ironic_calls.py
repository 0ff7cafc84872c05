"""Ironic API calls counted from Ironic's own request log.

Ironic logs one line per API request (``INFO ironic.api [...] 127.0.0.1 - GET
/v1/nodes/<uuid> - 200 (12.3ms)``), so both inspectors' calls are counted the same way,
whatever HTTP client they use, with nothing put between them and Ironic: a proxy in the path
added latency and connections of its own and made upstream's requests fail under load.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

_REQUEST = re.compile(rb" INFO ironic\.api \[[^\]]*\] \S+ - ([A-Z]+) (\S+) - \d{3} ")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_MAC = re.compile(r"([0-9a-fA-F]{2}(:|%3A)){5}[0-9a-fA-F]{2}")
#: Ironic writes the line as it answers; a phase's last requests get this long to show up.
SETTLE = 0.3


def call_name(method: str, target: str) -> str:
    """``GET /v1/nodes/{uuid}``: the request with identifiers and the query's values erased."""
    path, _, query = target.partition("?")
    path = _MAC.sub("{mac}", _UUID.sub("{uuid}", path))
    keys = sorted({part.partition("=")[0] for part in query.split("&") if part})
    return f"{method} {path}" + (f"?{'&'.join(keys)}" if keys else "")


def count_calls(lines: bytes) -> dict[str, Any]:
    """``{"total": n, "by_call": {"GET /v1/nodes/{uuid}": k, ...}}`` of a piece of the log."""
    by_call = Counter(call_name(m.group(1).decode(), m.group(2).decode())
                      for m in _REQUEST.finditer(lines))
    return {"total": sum(by_call.values()), "by_call": dict(by_call.most_common())}


class IronicCallLog:
    """The requests Ironic logged since the last :meth:`reset`."""

    def __init__(self, log_file: Path) -> None:
        self.log_file = log_file
        self._offset = 0

    def _size(self) -> int:
        return self.log_file.stat().st_size if self.log_file.exists() else 0

    def reset(self) -> None:
        self._offset = self._size()

    def counts(self) -> dict[str, Any]:
        time.sleep(SETTLE)
        with self.log_file.open("rb") as log:
            log.seek(self._offset)
            text = log.read()
        return count_calls(text[:text.rfind(b"\n") + 1])  # whole lines only
