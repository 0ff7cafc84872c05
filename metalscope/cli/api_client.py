"""A small client of MetalScope's HTTP API for the commands that read it from another host.

Authentication follows the service's ``auth_strategy``: none (``noauth``), a user and a
password (``http_basic``), or Keystone: a ready token (``--os-token``/``OS_TOKEN``) or a
password login (``--os-auth-url`` and the usual ``OS_*`` variables), as the OpenStack
clients take them. With Keystone and no ``--url``, the endpoint of service type
``baremetal-introspection`` comes from the catalog.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import click
import httpx

SERVICE_TYPE = "baremetal-introspection"
DEFAULT_URL = "http://127.0.0.1:5050"


@dataclass(frozen=True)
class ApiOptions:
    url: str | None
    token: str | None
    auth_url: str | None
    username: str | None
    password: str | None
    project_name: str | None
    user_domain_name: str
    project_domain_name: str
    system_scope: str | None
    interface: str
    http_user: str | None
    http_password: str | None
    cacert: str | None
    insecure: bool
    timeout: float


class ApiError(click.ClickException):
    """The service answered an error, or could not be reached: one line, exit status 1."""


_OPTIONS: tuple[tuple[tuple[str, ...], dict[str, Any]], ...] = (
    (("--url",), {"envvar": "METALSCOPE_URL", "help": f"MetalScope API base URL (default: "
                  f"the Keystone catalog's {SERVICE_TYPE} endpoint, else {DEFAULT_URL})."}),
    (("--os-token", "token"), {"envvar": "OS_TOKEN", "help": "A Keystone token."}),
    (("--os-auth-url", "auth_url"), {"envvar": "OS_AUTH_URL", "help": "Keystone URL."}),
    (("--os-username", "username"), {"envvar": "OS_USERNAME"}),
    (("--os-password", "password"), {"envvar": "OS_PASSWORD"}),
    (("--os-project-name", "project_name"), {"envvar": "OS_PROJECT_NAME"}),
    (("--os-user-domain-name", "user_domain_name"), {"envvar": "OS_USER_DOMAIN_NAME",
                                                     "default": "Default"}),
    (("--os-project-domain-name", "project_domain_name"), {"envvar": "OS_PROJECT_DOMAIN_NAME",
                                                           "default": "Default"}),
    (("--os-system-scope", "system_scope"), {"envvar": "OS_SYSTEM_SCOPE",
                                             "help": "e.g. all (instead of a project)."}),
    (("--os-interface", "interface"), {"envvar": "OS_INTERFACE", "default": "public"}),
    (("--http-user", "http_user"), {"envvar": "METALSCOPE_HTTP_USER",
                                    "help": "User name for auth_strategy = http_basic."}),
    (("--http-password", "http_password"), {"envvar": "METALSCOPE_HTTP_PASSWORD"}),
    (("--os-cacert", "cacert"), {"envvar": "OS_CACERT", "help": "CA bundle for TLS."}),
    (("--insecure",), {"is_flag": True, "help": "Do not verify the TLS certificate."}),
    (("--timeout",), {"type": float, "default": 60.0, "show_default": True}),
)


def api_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The connection and authentication options; the command receives ``api: ApiOptions``."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        names = ApiOptions.__dataclass_fields__
        options = ApiOptions(**{name: kwargs.pop(name) for name in names})
        return func(*args, api=options, **kwargs)

    for declarations, settings in reversed(_OPTIONS):
        wrapper = click.option(*declarations, show_envvar="envvar" in settings,
                               **settings)(wrapper)
    return wrapper


def _keystone_session(options: ApiOptions, auth_url: str) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    if options.token:
        auth: Any = v3.Token(auth_url, options.token,
                             project_name=options.project_name,
                             project_domain_name=options.project_domain_name,
                             system_scope=options.system_scope)
    else:
        if not options.username or options.password is None:
            raise ApiError("A Keystone login needs --os-username and --os-password "
                           "(OS_USERNAME, OS_PASSWORD), or a token")
        auth = v3.Password(auth_url, username=options.username,
                           password=options.password, project_name=options.project_name,
                           user_domain_name=options.user_domain_name,
                           project_domain_name=options.project_domain_name,
                           system_scope=options.system_scope)
    verify: Any = False if options.insecure else (options.cacert or True)
    return ks_session.Session(auth=auth, verify=verify)


def _endpoint_and_headers(options: ApiOptions) -> tuple[str, dict[str, str]]:
    if options.auth_url:
        from keystoneauth1 import exceptions as ks_exceptions
        try:
            session = _keystone_session(options, options.auth_url)
            token = session.get_token()
            url = options.url or session.get_endpoint(service_type=SERVICE_TYPE,
                                                      interface=options.interface)
        except ks_exceptions.ClientException as exc:
            raise ApiError(f"Keystone: {exc}") from None
        if not url:
            raise ApiError(f"No {SERVICE_TYPE} endpoint in the Keystone catalog; give --url")
        return str(url), {"X-Auth-Token": str(token)}
    headers = {"X-Auth-Token": options.token} if options.token else {}
    return options.url or DEFAULT_URL, headers


class ApiClient:
    """GETs JSON documents at one API version; errors become :class:`ApiError`.

    ``http`` is an already open client to use instead (tests pass the in-process app's); it
    is left open.
    """

    def __init__(self, options: ApiOptions, version: str,
                 http: httpx.Client | None = None) -> None:
        url, headers = _endpoint_and_headers(options)
        self._headers = {**headers, "X-OpenStack-Ironic-Inspector-API-Version": version}
        self._auth = ((options.http_user, options.http_password or "")
                      if options.http_user else None)
        verify: Any = False if options.insecure else (options.cacert or True)
        self._owned = http is None
        self._http = http or httpx.Client(base_url=url.rstrip("/"), verify=verify,
                                          timeout=options.timeout)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._owned:
            self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            extra: dict[str, Any] = {"auth": self._auth} if self._auth else {}
            response = self._http.get(path, params=query, headers=self._headers, **extra)
        except httpx.HTTPError as exc:
            raise ApiError(f"Cannot reach MetalScope at {self._http.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise ApiError(f"{response.status_code}: {error_message(response)}")
        try:
            return response.json()
        except ValueError:
            raise ApiError(f"Not a JSON answer from {response.url}") from None


def error_message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text.strip()[:200] or response.reason_phrase
