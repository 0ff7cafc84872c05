"""The pages' Jinja2 environment and static files, all shipped inside the package.

Templates are autoescaped and undefined names fail loudly. Nothing is fetched from outside:
the stylesheet and the one small script are served by the service itself, and the security
headers forbid anything else (no inline script, no framing, no referrer).
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import jinja2

#: Served under ``/ui/static/``: file name -> Content-Type.
STATIC_TYPES = {"ui.css": "text/css; charset=utf-8", "ui.js": "text/javascript; charset=utf-8"}

#: Sent with every page and static file.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class Pages:
    """Renders the templates of ``metalscope/ui/templates`` and holds the static files."""

    def __init__(self) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.PackageLoader("metalscope.ui", "templates"),
            autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
            lstrip_blocks=True)
        folder = resources.files("metalscope.ui").joinpath("static")
        self.static = {name: folder.joinpath(name).read_bytes() for name in STATIC_TYPES}

    def render(self, template: str, **context: Any) -> str:
        return self.environment.get_template(template).render(**context)
