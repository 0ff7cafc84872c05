"""Reading the INI file(s) into :class:`Settings` with a private oslo.config object.

Options keep upstream's sections, names and defaults (spec section 11) so existing files load
unchanged; unknown options are ignored. Each load builds its own ``ConfigOpts`` (never the
global ``CONF``).

With no configuration file at all, MetalScope runs on *embedded defaults*: SQLite in a local
data folder, no authentication, the ``noop`` PXE filter, Ironic at http://127.0.0.1:6385
without authentication, and introspection data stored in the database.

Where the files come from:

* :func:`load_settings`: the files and folders given (embedded defaults when none);
* :func:`load_program_settings`: the same for the ``metalscope`` command, except that with no
  file (or no folder) given, oslo.config's default places for project ``metalscope`` are
  searched first (:func:`default_config`); embedded defaults only when nothing is found;
* :func:`load_command_line`: a whole command line of one of upstream's commands, parsed by
  oslo.config as upstream parses it (``--config-file``, ``--config-dir``, ``--version``,
  oslo.log's flags, the command's own options and subcommands), with the default places of
  project ``ironic-inspector``; upstream's defaults when no file is found.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oslo_config import cfg

from metalscope.errors import ConfigurationError
from metalscope.settings.libraries import register_library_options
from metalscope.settings.log_options import LoggingSection
from metalscope.settings.model import SECTIONS, ConfigSources, Settings
from metalscope.settings.option import declared, own_opts

EMBEDDED_IRONIC_URL = "http://127.0.0.1:6385"


def _group(section: str) -> str | None:
    """oslo.config's group of a section, named by Settings attribute or INI section."""
    ini_section = SECTIONS[section][0] if section in SECTIONS else section
    return None if ini_section == "DEFAULT" else ini_section


#: The oslo.log options upstream's commands take on the command line (``--debug``/``-d``,
#: ``--log-file``, ...), by field of :class:`LoggingSection`: oslo.log's ``common_cli_opts``
#: and ``logging_cli_opts``.
LOGGING_FLAGS = ("debug", "log_config_append", "log_date_format", "log_file", "log_dir",
                 "use_syslog", "use_journal", "syslog_log_facility", "use_json")


def build_conf(*, command_line: bool = False) -> Any:
    """A fresh ConfigOpts with every option MetalScope knows registered, libraries' included.

    With ``command_line``, oslo.log's flags are command-line options too, named as oslo.log
    names them (``--log-file``, deprecated ``--logfile``; ``--debug`` and ``-d``).
    """
    conf = cfg.ConfigOpts()
    for name, (_, kind) in SECTIONS.items():
        opts = own_opts(kind)
        if command_line and kind is LoggingSection:
            opts = [opt for opt in opts if opt.dest not in LOGGING_FLAGS]
            conf.register_cli_opts(_logging_flags())
        conf.register_opts(opts, group=_group(name))
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


def _logging_flags() -> list[Any]:
    flags = []
    for item in declared(LoggingSection):
        if item.name in LOGGING_FLAGS:
            extra = {"short": "d"} if item.name == "debug" else {}
            flags.append(item.declaration.opt(item.name.replace("_", "-"), **extra))
    return flags


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
    return _load_given(list(config_files or []), list(config_dirs or []), ConfigSearch(),
                       overrides)


def load_program_settings(config_files: Sequence[str], config_dirs: Sequence[str], *,
                          project: str = "metalscope") -> Settings:
    """The settings of a ``metalscope`` command: the files and folders given and, as
    oslo.config does, ``project``'s default files when no file is given and its default
    ``.conf.d`` folders when no folder is given (see :func:`default_config`). Embedded
    defaults only when nothing is given and nothing is found."""
    return _load_given(list(config_files), list(config_dirs), default_config(project, project),
                       None)


def _load_given(config_files: list[str], config_dirs: list[str], search: ConfigSearch,
                overrides: dict[str, dict[str, Any]] | None) -> Settings:
    for path in config_files + config_dirs:
        if not os.path.exists(path):
            raise FileNotFoundError(f"Configuration file or folder {path} does not exist")
    conf = build_conf()
    args: list[str] = []
    for path in config_files:
        args += ["--config-file", path]
    for path in config_dirs:
        args += ["--config-dir", path]
    conf(args, project="metalscope", default_config_files=list(search.files),
         default_config_dirs=list(search.dirs), validate_default_values=True, use_env=False)
    read = files_read(_pairs(args), search)
    embedded = not config_files and not config_dirs and not read
    if embedded:
        _embedded_overrides(conf)
    for section, values in (overrides or {}).items():
        for key, value in values.items():
            conf.set_override(key, value, group=_group(section))
    return _settings(conf, embedded, read)


def _settings(conf: Any, embedded: bool, read: Sequence[str]) -> Settings:
    _computed_defaults(conf)
    sections = {name: _section(conf, name) for name in SECTIONS}
    return Settings(**sections, embedded=embedded, config_files=tuple(read),
                    sources=ConfigSources(conf))


# -- oslo.config's default places ------------------------------------------------------------

@dataclass(frozen=True)
class ConfigSearch:
    """The configuration files and ``.conf.d`` folders found in oslo.config's default places."""

    files: tuple[str, ...] = ()
    dirs: tuple[str, ...] = ()


def default_config(project: str, prog: str) -> ConfigSearch:
    """oslo.config's default configuration of a program: ``<project>.conf`` and
    ``<prog>.conf``, each the first found in ``~/.<project>/``, ``~/``, ``/etc/<project>/``,
    ``/etc/`` (and a snap's folders), and the ``.conf.d`` folders of the same names found
    there. ``project`` equal to ``prog`` finds each only once."""
    files = cfg.find_config_files(project=project, prog=prog)
    dirs = cfg.find_config_dirs(project=project, prog=prog)
    return ConfigSearch(tuple(dict.fromkeys(files)), tuple(dict.fromkeys(dirs)))


def files_read(given: Sequence[tuple[str, str]], search: ConfigSearch) -> tuple[str, ...]:
    """The files oslo.config reads, in its order (a later file wins): the default files
    unless a ``--config-file`` is given, the ``*.conf`` of the default folders unless a
    ``--config-dir`` is given, then ``given`` (``(flag, path)`` pairs in command-line order)."""
    flags = {flag for flag, _ in given}
    files = [] if "--config-file" in flags else list(search.files)
    if "--config-dir" not in flags:
        files += [name for folder in search.dirs for name in _folder_files(folder)]
    for flag, path in given:
        files += [path] if flag == "--config-file" else _folder_files(path)
    return tuple(files)


def _folder_files(folder: str) -> list[str]:
    return sorted(glob.glob(os.path.join(folder, "*.conf")))


# -- upstream's command lines ----------------------------------------------------------------

@dataclass(frozen=True)
class CommandOption:
    """A string option of one command's command line (``--from database``)."""

    name: str
    dest: str
    help: str
    choices: tuple[str, ...] = ()
    required: bool = False


class Subcommand:
    """The subcommand chosen on a command line (``upgrade``) and its arguments."""

    def __init__(self, values: Any) -> None:
        self._values = values

    @property
    def name(self) -> str:
        return str(self._values.name)

    def get(self, argument: str, default: Any = None) -> Any:
        """The value of one of the subcommand's arguments; ``default`` when it has none."""
        try:
            value = getattr(self._values, argument)
        except (AttributeError, cfg.Error):
            return default
        return default if value is None else value


@dataclass(frozen=True)
class CommandLine:
    """What a command line of one of upstream's commands says."""

    settings: Settings
    #: The values of the command's own options, by ``dest``.
    options: dict[str, Any] = field(default_factory=dict)
    subcommand: Subcommand | None = None


def load_command_line(argv: Sequence[str], *, prog: str, version: str,
                      project: str = "ironic-inspector",
                      options: Sequence[CommandOption] = (),
                      subcommands: Callable[[Any], None] | None = None) -> CommandLine:
    """Parse the command line of one of upstream's commands as oslo.config parses it, and
    read the settings it names.

    ``--config-file`` and ``--config-dir`` (each repeatable, read in oslo.config's order),
    ``--version`` (prints ``version``), ``-h``, oslo.log's flags (:data:`LOGGING_FLAGS`),
    ``options`` and, when ``subcommands`` is given, a subcommand: ``subcommands`` receives
    argparse's sub-parsers object and adds one parser per subcommand. With no file given,
    oslo.config's default places of ``project`` and ``prog`` are searched
    (:func:`default_config`); with nothing found upstream's defaults apply, never the
    embedded ones. Usage errors, ``--help`` and ``--version`` end in ``SystemExit`` as
    argparse ends them; unreadable or invalid files raise :class:`ConfigurationError`.
    """
    conf = build_conf(command_line=True)
    for item in options:
        conf.register_cli_opt(cfg.StrOpt(item.name, dest=item.dest, help=item.help,
                                         choices=item.choices or None, required=item.required))
    if subcommands is not None:
        conf.register_cli_opt(cfg.SubCommandOpt("command", title="Commands",
                                                handler=subcommands))
    search = default_config(project, prog)
    try:
        conf(list(argv), project=project, prog=prog, version=version,
             default_config_files=list(search.files), default_config_dirs=list(search.dirs),
             validate_default_values=True)
        read = files_read(_pairs(argv), search)
        settings = _settings(conf, False, read)
    except cfg.RequiredOptError as exc:
        raise ConfigurationError(_one_line(exc)) from exc
    except (cfg.Error, ValueError) as exc:
        raise ConfigurationError(f"Invalid configuration: {_one_line(exc)}") from exc
    return CommandLine(settings, {item.dest: conf[item.dest] for item in options},
                       Subcommand(conf.command) if subcommands is not None else None)


def _pairs(argv: Sequence[str]) -> list[tuple[str, str]]:
    """The ``--config-file`` and ``--config-dir`` of a command line, in its order (as
    ``--flag value`` or ``--flag=value``)."""
    pairs = []
    for index, arg in enumerate(argv):
        flag, _, value = arg.partition("=")
        if flag not in ("--config-file", "--config-dir"):
            continue
        if not value and index + 1 < len(argv):
            value = argv[index + 1]
        pairs.append((flag, value))
    return pairs


def _one_line(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__
