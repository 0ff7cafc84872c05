"""Reading the INI file(s) into :class:`Settings` with a private oslo.config object.

Options keep upstream's sections, names and defaults (spec section 11) so existing files load
unchanged; unknown options are ignored. Each load builds its own ``ConfigOpts`` (never the
global ``CONF``).

With no configuration file at all, MetalScope runs on *embedded defaults*: SQLite in a local
data folder, no authentication, the ``noop`` PXE filter, Ironic at http://127.0.0.1:6385
without authentication, and introspection data stored in the database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from oslo_config import cfg

from metalscope.settings.libraries import register_library_options
from metalscope.settings.model import SECTIONS, ConfigSources, Settings
from metalscope.settings.option import declared, own_opts

EMBEDDED_IRONIC_URL = "http://127.0.0.1:6385"


def _group(section: str) -> str | None:
    """oslo.config's group of a section, named by Settings attribute or INI section."""
    ini_section = SECTIONS[section][0] if section in SECTIONS else section
    return None if ini_section == "DEFAULT" else ini_section


def build_conf() -> Any:
    """A fresh ConfigOpts with every option MetalScope knows registered, libraries' included."""
    conf = cfg.ConfigOpts()
    for name, (_, kind) in SECTIONS.items():
        conf.register_opts(own_opts(kind), group=_group(name))
    register_library_options(conf)
    for name, (_, kind) in SECTIONS.items():
        group = _group(name)
        for item in declared(kind):
            declaration = item.declaration
            if declaration.fallback and item.name not in (conf[group] if group else conf):
                conf.register_opt(declaration.opt(item.name), group=group)
            if declaration.sets_default:
                conf.set_default(item.name, declaration.default, group=group)
    return conf


def _embedded_overrides(conf: Any) -> None:
    data_dir = Path(conf.data_dir).absolute()
    conf.set_default("listen_address", "0.0.0.0")
    conf.set_default("auth_strategy", "noauth")
    conf.set_default("connection", f"sqlite:///{data_dir / 'metalscope.sqlite'}", group="database")
    conf.set_default("driver", "noop", group="pxe_filter")
    conf.set_default("store_data", "database", group="processing")
    conf.set_default("ramdisk_logs_dir", str(data_dir / "ramdisk-logs"), group="processing")
    conf.set_default("auth_type", "none", group="ironic")
    conf.set_default("endpoint_override", EMBEDDED_IRONIC_URL, group="ironic")
    conf.set_default("backend_url", "", group="coordination")


def _computed_defaults(conf: Any) -> None:
    """Work out the defaults of computed options nobody set (only those)."""
    for name, (_, kind) in SECTIONS.items():
        group = _group(name)
        values = conf[group] if group else conf
        for item in declared(kind):
            factory = item.declaration.default_factory
            if factory is not None and values[item.name] is None:
                conf.set_default(item.name, factory(), group=group)


def _section(conf: Any, name: str) -> Any:
    group = _group(name)
    values = conf[group] if group else conf
    kind = SECTIONS[name][1]
    return kind(**{item.name: _plain(values[item.name]) for item in declared(kind)})


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def load_settings(config_files: list[str] | None = None, config_dirs: list[str] | None = None,
                  overrides: dict[str, dict[str, Any]] | None = None) -> Settings:
    """Read the INI file(s) (or the embedded defaults) into a Settings object.

    ``overrides`` maps a section name (INI section or Settings attribute) to option values set
    on top of the files; tests and the demo use it instead of writing files.
    """
    config_files = list(config_files or [])
    config_dirs = list(config_dirs or [])
    for path in config_files + config_dirs:
        if not os.path.exists(path):
            raise FileNotFoundError(f"Configuration file or folder {path} does not exist")
    conf = build_conf()
    embedded = not config_files and not config_dirs
    args: list[str] = []
    for path in config_files:
        args += ["--config-file", path]
    for path in config_dirs:
        args += ["--config-dir", path]
    conf(args, project="metalscope", default_config_files=[], default_config_dirs=[],
         validate_default_values=True, use_env=False)
    if embedded:
        _embedded_overrides(conf)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            conf.set_override(key, value, group=_group(section))
    _computed_defaults(conf)
    sections = {name: _section(conf, name) for name in SECTIONS}
    return Settings(**sections, embedded=embedded, config_files=tuple(config_files),
                    sources=ConfigSources(conf))
