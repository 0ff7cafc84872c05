"""AnswerLosingProxy: forwards requests, then loses the answers to some of them.

For a chosen HTTP method, the next ``count`` requests reach the backend whole; when the
backend's answer arrives the proxy closes the client connection instead of relaying it. The
backend has then acted on the request (Ironic answers a PATCH once it is stored) but the
client only sees a connection closed without an answer: the "outcome unknown" case a client
must reconcile. ``lost`` holds the request lines whose answers were dropped. Other connections
are relayed as by :class:`~metalscope.testing.idle_closing_proxy.IdleClosingProxy`
(in its own thread too).
"""

from __future__ import annotations

from metalscope.testing.idle_closing_proxy import IdleClosingProxy


class AnswerLosingProxy(IdleClosingProxy):
    def __init__(self, backend: tuple[str, int], method: str, count: int = 1,
                 path_prefix: str = "/", idle_close: float | None = None) -> None:
        super().__init__(backend, idle_close)
        self.prefix = f"{method} {path_prefix}".encode()
        self.remaining = count
        self.lost: list[bytes] = []

    def lose_answer(self, request_line: bytes) -> bool:
        if self.remaining <= 0 or not request_line.startswith(self.prefix):
            return False
        self.remaining -= 1
        self.lost.append(request_line)
        return True
