"""The libraries that read their options from an oslo.config object themselves.

keystoneauth loads sessions, authentication plugins and adapters from ``[ironic]``,
``[swift]`` and ``[keystone_authtoken]``, and oslo.policy's Enforcer reads
``[oslo_policy]``. These functions hand them the configuration the settings were read from,
so nothing outside this package touches oslo.config.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from keystoneauth1 import adapter as ks_adapter
from keystoneauth1 import loading as ks_loading
from oslo_policy import opts as policy_opts

from metalscope.settings.model import Settings

#: Sections in which keystoneauth registers its options, and which kinds of options.
KEYSTONE_SECTIONS: dict[str, tuple[str, ...]] = {
    "ironic": ("session", "auth", "adapter"),
    "swift": ("session", "auth", "adapter"),
    "keystone_authtoken": ("session", "auth"),
}
_REGISTER: dict[str, Callable[[Any, str], Any]] = {
    "session": ks_loading.register_session_conf_options,
    "auth": ks_loading.register_auth_conf_options,
    "adapter": ks_loading.register_adapter_conf_options,
}
_LIST: dict[str, Callable[[], list[Any]]] = {
    "session": ks_loading.get_session_conf_options,
    "auth": ks_loading.get_auth_common_conf_options,
    "adapter": ks_loading.get_adapter_conf_options,
}


def register_library_options(conf: Any) -> None:
    """Register keystoneauth's and oslo.policy's options on ``conf``, as they would."""
    for section, kinds in KEYSTONE_SECTIONS.items():
        for kind in kinds:
            _REGISTER[kind](conf, section)
    for group, opts in policy_opts.list_opts():
        conf.register_opts(opts, group=group)


def library_opts(section: str) -> list[Any]:
    """The options the libraries register in ``section`` (empty for the others)."""
    if section == "oslo_policy":
        return [opt for group, opts in policy_opts.list_opts() if group == section
                for opt in opts]
    return [opt for kind in KEYSTONE_SECTIONS.get(section, ()) for opt in _LIST[kind]()]


@dataclass(frozen=True)
class KeystoneAuth:
    """A keystoneauth plugin (None when ``auth_type`` is unset) and a session using it."""

    plugin: Any
    session: Any


def _conf(settings: Settings) -> Any:
    if settings.sources is None:
        raise ValueError("These settings were not read by load_settings")
    return settings.sources.conf


def keystone_auth(settings: Settings, section: str) -> KeystoneAuth:
    """keystoneauth's plugin and session from ``[section]`` (``ironic``, ``swift`` or
    ``keystone_authtoken``); keystoneauth's errors propagate."""
    conf = _conf(settings)
    plugin = ks_loading.load_auth_from_conf_options(conf, section)
    session = ks_loading.load_session_from_conf_options(conf, section, auth=plugin)
    return KeystoneAuth(plugin, session)


def keystone_adapter(settings: Settings, section: str) -> ks_adapter.Adapter:
    """A keystoneauth Adapter from ``[section]``'s adapter, session and auth options."""
    auth = keystone_auth(settings, section)
    adapter: ks_adapter.Adapter = ks_loading.load_adapter_from_conf_options(
        _conf(settings), section, session=auth.session, auth=auth.plugin)
    return adapter


def policy_enforcer_conf(settings: Settings) -> Any:
    """The configuration object oslo.policy's Enforcer reads ``[oslo_policy]`` from (it also
    resolves a relative policy file against the configuration files)."""
    return _conf(settings)
