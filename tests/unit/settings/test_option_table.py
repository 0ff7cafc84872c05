"""The option table: each declared field agrees with the oslo.config option it yields."""

from __future__ import annotations

import dataclasses
import socket
import types
import typing
from pathlib import Path
from typing import Any

import pytest

from metalscope.settings import SECTIONS, Settings, load_settings
from metalscope.settings.libraries import library_opts
from metalscope.settings.option import Declared, declared

DECLARED = [(attribute, ini_section, item) for attribute, (ini_section, kind) in SECTIONS.items()
            for item in declared(kind)]
OWN = [entry for entry in DECLARED if entry[2].declaration.owner is None]
LIBRARY = [entry for entry in DECLARED if entry[2].declaration.owner is not None]


def ids(entry: tuple[str, str, Declared]) -> str:
    return f"{entry[0]}.{entry[2].name}"


@pytest.fixture(scope="module")
def upstream_defaults(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of a file that sets nothing (upstream's defaults, not the embedded ones)."""
    path = tmp_path_factory.mktemp("conf") / "empty.conf"
    path.write_text("[DEFAULT]\n")
    return load_settings([str(path)])


def annotation(attribute: str, name: str) -> Any:
    return typing.get_type_hints(SECTIONS[attribute][1])[name]


def python_types(hint: Any) -> set[type]:
    """The classes a field's annotation allows (``int | None`` → int, NoneType)."""
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        return set().union(*(python_types(arg) for arg in typing.get_args(hint)))
    return {typing.get_origin(hint) or hint}


def test_every_settings_section_is_in_the_table() -> None:
    sections = {f.name for f in dataclasses.fields(Settings)} - {"embedded", "config_files",
                                                                 "sources"}
    assert sections == set(SECTIONS)
    hints = typing.get_type_hints(Settings)
    assert all(hints[name] is kind for name, (_, kind) in SECTIONS.items())


@pytest.mark.parametrize("entry", DECLARED, ids=ids)
def test_every_option_has_help(entry: tuple[str, str, Declared]) -> None:
    help_text = entry[2].declaration.help
    assert help_text and help_text.strip() == help_text and help_text[-1] in ".)"


@pytest.mark.parametrize("entry", OWN, ids=ids)
def test_oslo_option_agrees_with_the_field(entry: tuple[str, str, Declared]) -> None:
    """Name, help and default are the declaration's; the value type is the annotation's."""
    attribute, _, item = entry
    opt = item.declaration.opt(item.name)
    assert (opt.name, opt.dest, opt.help) == (item.name, item.name, item.declaration.help)
    assert opt.default == item.declaration.default
    allowed = python_types(annotation(attribute, item.name))
    assert item.declaration.kind.python_type in allowed
    if item.declaration.default is None and item.declaration.default_factory is None:
        assert type(None) in allowed


@pytest.mark.parametrize("entry", OWN, ids=ids)
def test_declared_default_is_what_loads(entry: tuple[str, str, Declared],
                                        upstream_defaults: Settings) -> None:
    attribute, _, item = entry
    value = getattr(getattr(upstream_defaults, attribute), item.name)
    default = item.declaration.default
    if isinstance(default, str) and default.startswith("$"):  # oslo.config interpolation
        default = getattr(getattr(upstream_defaults, attribute), default[1:])
    if item.declaration.default_factory is None:
        assert value == default
    assert isinstance(value, tuple(python_types(annotation(attribute, item.name))))


@pytest.mark.parametrize("entry", LIBRARY, ids=ids)
def test_library_fields_name_library_options(entry: tuple[str, str, Declared],
                                             upstream_defaults: Settings) -> None:
    """A field read from a library's option names one it registers (or one MetalScope
    registers in its place), and holds a value of the annotated type."""
    attribute, ini_section, item = entry
    names = {opt.dest for opt in library_opts(ini_section)}
    assert item.name in names or item.declaration.fallback
    value = getattr(getattr(upstream_defaults, attribute), item.name)
    assert isinstance(value, tuple(python_types(annotation(attribute, item.name))))
    if item.declaration.sets_default:
        assert value == item.declaration.default


def test_sections_are_frozen(upstream_defaults: Settings) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        upstream_defaults.default.listen_port = 1  # type: ignore[misc]


DEPRECATED = [entry for entry in OWN if dict(entry[2].declaration.details).get("deprecated_name")]
SAMPLE_VALUES = {str: ("/some/where", "/some/where"), list: ("a,b", ["a", "b"])}


@pytest.mark.parametrize("entry", DEPRECATED, ids=ids)
def test_deprecated_names_still_read(entry: tuple[str, str, Declared], tmp_path: Path) -> None:
    attribute, ini_section, item = entry
    old_name = dict(item.declaration.details)["deprecated_name"]
    text, value = SAMPLE_VALUES[item.declaration.kind.python_type]
    path = tmp_path / "old.conf"
    path.write_text(f"[{ini_section}]\n{old_name} = {text}\n")
    assert getattr(getattr(load_settings([str(path)]), attribute), item.name) == value


def test_deprecated_names_are_upstreams() -> None:
    assert {(ini_section, item.name, dict(item.declaration.details)["deprecated_name"])
            for _, ini_section, item in DEPRECATED} == {
        ("DEFAULT", "log_config_append", "log-config"), ("DEFAULT", "log_file", "logfile"),
        ("DEFAULT", "log_dir", "logdir"),
        ("keystone_authtoken", "www_authenticate_uri", "auth_uri"),
        ("keystone_authtoken", "memcached_servers", "memcache_servers")}


class TestComputedHost:
    def test_computed_when_settings_load(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(socket, "getfqdn", lambda: "computed.example.org")
        assert load_settings().default.host == "computed.example.org"

    def test_not_computed_when_set(self, monkeypatch: pytest.MonkeyPatch,
                                   tmp_path: Path) -> None:
        def refuse() -> str:
            raise AssertionError("getfqdn called")
        monkeypatch.setattr(socket, "getfqdn", refuse)
        path = tmp_path / "host.conf"
        path.write_text("[DEFAULT]\nhost = set.example.org\n")
        assert load_settings([str(path)]).default.host == "set.example.org"
        assert load_settings(overrides={"DEFAULT": {"host": "o"}}).default.host == "o"
