"""The built-in auth strategies, as registered under ``metalscope.auth_strategies``.

Each is a factory called with the settings that returns an
:class:`~metalscope.auth.base.AccessControl`; the entry names are upstream's
``[DEFAULT]auth_strategy`` values.
"""

from __future__ import annotations

from metalscope.auth.base import NoAuth
from metalscope.auth.http_basic import HttpBasicAuth, load_htpasswd
from metalscope.auth.keystone import KeystoneAccess
from metalscope.settings import Settings


def noauth(settings: Settings) -> NoAuth:
    return NoAuth()


def http_basic(settings: Settings) -> HttpBasicAuth:
    """Users of ``[DEFAULT]http_basic_auth_user_file``, read now."""
    return HttpBasicAuth(load_htpasswd(settings.default.http_basic_auth_user_file))


def keystone(settings: Settings) -> KeystoneAccess:
    """Tokens validated against Keystone, roles checked by the policy."""
    return KeystoneAccess.from_settings(settings)
