"""DirectHTTP: requests to Ironic handed straight to the transport, past httpx's client layer.

Why it exists: profiled on the ramdisk callback path (4-6 Ironic requests per callback),
``httpx.AsyncClient``'s own work around each request cost about 15% of the callback's CPU:
``build_request`` merging and parsing the URL again, ``Cookies.extract_cookies`` building a
``urllib.request.Request`` for every response (Ironic sets no cookies), and the auth, redirect
and event-hook wrappers. None of it does anything for Ironic: the authentication headers come
from keystoneauth, redirects were never followed (a 3xx is the answer) and there are no
hooks. :class:`DirectHTTP` builds the ``httpx.Request`` itself, with what the client put on it
(its headers, the timeouts as the ``timeout`` extension the transports read), and reads the
whole answer. The exceptions are the transport's own, as through the client.

Proxies are the one thing of the client's that matters: it mounts proxy transports from
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY`` (and ``NO_PROXY``), though only when built
without a transport of its own. When the environment names a proxy (:func:`proxy_configured`)
the Ironic client sends through such an ``httpx.AsyncClient`` instead.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from typing import Any

import httpx

from metalscope import __version__

USER_AGENT = f"metalscope/{__version__}"
#: What every request carries besides its own headers: what httpx's client sends by default
#: (``gzip`` and ``deflate`` are the encodings httpx always decodes) with MetalScope's name.
DEFAULT_HEADERS: Mapping[str, str] = {
    "Accept": "*/*",
    "Accept-Encoding": "gzip, deflate",
    "Connection": "keep-alive",
    "User-Agent": USER_AGENT,
}
_PROXY_SCHEMES = ("http", "https", "all")


def proxy_configured(proxies: Mapping[str, str] | None = None) -> bool:
    """Whether the environment names a proxy that ``httpx.AsyncClient`` would mount.

    ``proxies`` is ``urllib.request.getproxies()`` by default, which httpx reads too.
    """
    found = urllib.request.getproxies() if proxies is None else proxies
    return any(found.get(scheme) for scheme in _PROXY_SCHEMES)


def with_defaults(headers: Mapping[str, str] | None) -> dict[str, str]:
    """``headers`` and the default ones they do not set (names compare without case)."""
    if not headers:
        return dict(DEFAULT_HEADERS)
    own = {name.lower() for name in headers}
    defaults = {name: value for name, value in DEFAULT_HEADERS.items()
                if name.lower() not in own}
    return {**defaults, **headers}


class DirectHTTP:
    """Sends each request through ``transport`` with ``timeout``; closing it closes that.

    The calls the Ironic client makes of ``httpx.AsyncClient``, with the same meaning.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: httpx.Timeout) -> None:
        self._transport = transport
        self._extensions = {"timeout": timeout.as_dict()}

    async def request(self, method: str, url: str, *, params: Mapping[str, str] | None = None,
                      headers: Mapping[str, str] | None = None,
                      json: Any = None) -> httpx.Response:
        """The whole answer to one request (any status: a 3xx is not followed)."""
        request = httpx.Request(method, url, params=params, headers=with_defaults(headers),
                                json=json, extensions=self._extensions)
        response = await self._transport.handle_async_request(request)
        response.request = request  # httpx's own transport leaves it unset
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        """Close the transport's pooled connections."""
        await self._transport.aclose()
