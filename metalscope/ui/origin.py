"""Same-origin check of the login and logout forms' posts (with the SameSite=Strict cookie,
the protection against cross-site request forgery)."""

from __future__ import annotations

from urllib.parse import urlsplit


def same_origin(own: str, origin: str | None, referer: str | None) -> bool:
    """Whether a POST comes from a page of ``own`` (``scheme://host[:port]``).

    The ``Origin`` header decides when the browser sent one (``null`` never matches); else
    the ``Referer``'s scheme and host; a post with neither is refused.
    """
    if origin is not None:
        return origin.strip().lower() == own.lower()
    if not referer:
        return False
    parts = urlsplit(referer.strip())
    return f"{parts.scheme}://{parts.netloc}".lower() == own.lower()
