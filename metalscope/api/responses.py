"""Response shapes of the upstream API (spec 2.1): compact sorted JSON plus a newline."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response


def render_json(content: Any) -> bytes:
    return (json.dumps(content, sort_keys=True, separators=(",", ":")) + "\n").encode()


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return render_json(content)


def accepted() -> JSONResponse:
    """202 with the body ``{}`` and a newline."""
    return JSONResponse({}, status_code=202)


def no_content() -> Response:
    """204: empty body, ``text/plain; charset=utf-8`` and an explicit ``Content-Length: 0``."""
    return Response(b"", status_code=204, media_type="text/plain; charset=utf-8",
                    headers={"Content-Length": "0"})


def error_response(status: int, message: str,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": {"message": message}}, status_code=status, headers=headers)
