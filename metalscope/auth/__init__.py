"""Who may call the API: ``[DEFAULT]auth_strategy`` = ``noauth``, ``http_basic`` or ``keystone``.

Each strategy is an :class:`AccessControl` that the HTTP layer asks, per request, whether the
route's policy rule lets the caller in (spec 2.3). No web framework here.
"""

from __future__ import annotations

from metalscope.auth.base import AccessControl, Identity, NoAuth
from metalscope.auth.http_basic import HttpBasicAuth, load_htpasswd, parse_basic
from metalscope.auth.keystone import KeystoneAccess
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings

__all__ = ["AccessControl", "HttpBasicAuth", "Identity", "KeystoneAccess", "NoAuth", "create_access_control",
           "load_htpasswd", "parse_basic"]


def create_access_control(settings: Settings) -> AccessControl:
    """The strategy the settings ask for; ConfigurationError when it cannot work.

    Builds objects only (reads the htpasswd and policy files): nothing connects anywhere
    until the first request.
    """
    strategy = settings.default.auth_strategy
    if strategy == "noauth":
        return NoAuth()
    if strategy == "http_basic":
        return HttpBasicAuth(load_htpasswd(settings.default.http_basic_auth_user_file))
    if strategy == "keystone":
        return KeystoneAccess.from_settings(settings)
    raise ConfigurationError(f"Unknown [DEFAULT]auth_strategy {strategy}")
