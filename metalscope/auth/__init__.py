"""Who may call the API: ``[DEFAULT]auth_strategy`` = ``noauth``, ``http_basic`` or ``keystone``.

Each strategy is an :class:`AccessControl` that the HTTP layer asks, per request, whether the
route's policy rule lets the caller in (spec 2.3). No web framework here.
"""

from __future__ import annotations

from metalscope.auth.base import AUTH_STRATEGIES, AccessControl, Identity, NoAuth
from metalscope.auth.http_basic import HttpBasicAuth, load_htpasswd, parse_basic
from metalscope.auth.keystone import KeystoneAccess
from metalscope.settings import Settings

__all__ = ["AUTH_STRATEGIES", "AccessControl", "HttpBasicAuth", "Identity", "KeystoneAccess",
           "NoAuth", "create_access_control", "load_htpasswd", "parse_basic"]


def create_access_control(settings: Settings) -> AccessControl:
    """The strategy the settings ask for (an entry point of ``metalscope.auth_strategies``);
    ConfigurationError when it is not installed or cannot work.

    Builds objects only (reads the htpasswd and policy files): nothing connects anywhere
    until the first request.
    """
    return AUTH_STRATEGIES.create(settings.default.auth_strategy, settings)
