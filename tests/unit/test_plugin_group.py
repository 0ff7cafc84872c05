"""PluginGroup: loading, building and checking plugins of an entry-point group.

The group under test is registered by a distribution written into a temporary folder on
``sys.path``, exactly as an installed third-party package would register it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import pytest

from metalscope.auth import create_access_control
from metalscope.coordination.backends import COORDINATION_BACKENDS
from metalscope.errors import ConfigurationError
from metalscope.extensions import ExtensionRegistry
from metalscope.plugin_group import PluginGroup, protocol_members
from metalscope.pxe_filter.base import PXE_FILTER_DRIVERS
from metalscope.pxe_filter.spec import PXEFilter
from metalscope.settings import load_settings
from metalscope.storage.data_store import (
    DATA_STORES,
    DatabaseStore,
    NoStore,
    check_store_settings,
    create_store,
)
from metalscope.storage.swift_store import SwiftStore

GROUP = "metalscope.test_greeters"
HERE = "tests.unit.test_plugin_group"


class Greeter(Protocol):
    name: str

    def greet(self) -> str: ...


class Polite:
    name = "polite"

    def __init__(self, punctuation: str) -> None:
        self.punctuation = punctuation

    def greet(self) -> str:
        return "Good morning" + self.punctuation


class Mute:
    """Lacks ``greet``."""

    name = "mute"

    def __init__(self, punctuation: str) -> None:
        pass


class Broken:
    def __init__(self, punctuation: str) -> None:
        raise ValueError("no voice today")


class Misconfigured:
    def __init__(self, punctuation: str) -> None:
        raise ConfigurationError("[greeting]voice must be set")


NOT_CALLABLE = "a string"

ENTRY_POINTS = {
    "polite": f"{HERE}:Polite", "mute": f"{HERE}:Mute", "broken": f"{HERE}:Broken",
    "misconfigured": f"{HERE}:Misconfigured", "inert": f"{HERE}:NOT_CALLABLE",
    "absent": "tests.unit.no_such_module:Greeter",
}


@pytest.fixture
def greeters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PluginGroup[Greeter]:
    dist = tmp_path / "greeters-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: greeters\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        f"[{GROUP}]\n" + "".join(f"{n} = {v}\n" for n, v in ENTRY_POINTS.items()))
    monkeypatch.syspath_prepend(str(tmp_path))
    return PluginGroup(GROUP, "Greeter", Greeter)


def test_builds_and_checks_a_plugin(greeters: PluginGroup[Greeter]) -> None:
    greeter = greeters.create("polite", "!")
    assert isinstance(greeter, Polite) and greeter.greet() == "Good morning!"
    assert greeters.names() == sorted(ENTRY_POINTS)


def test_unknown_name_lists_the_installed_ones(greeters: PluginGroup[Greeter]) -> None:
    with pytest.raises(ConfigurationError) as info:
        greeters.create("rude", "!")
    assert str(info.value) == (f"Greeter rude ({GROUP}) is not installed; available: "
                               "absent, broken, inert, misconfigured, mute, polite")


def test_unknown_name_with_the_kind_s_own_message(greeters: PluginGroup[Greeter]) -> None:
    def message(name: str, available: Sequence[str]) -> str:
        return f"[greeting]style = {name}; use one of {', '.join(available[:2])}"

    group: PluginGroup[Greeter] = PluginGroup(GROUP, "Greeter", Greeter, message)
    with pytest.raises(ConfigurationError, match=r"^\[greeting\]style = rude; use one of "
                                                 r"absent, broken$"):
        group.load("rude")


@pytest.mark.parametrize(("name", "problem"), [
    ("absent", "cannot be imported (tests.unit.no_such_module:Greeter): No module named"),
    ("inert", f"is not a class or function: {HERE}:NOT_CALLABLE"),
    ("broken", "failed to load: no voice today"),
    ("mute", "does not provide Greeter: it has no greet"),
])
def test_failures_name_the_group_and_the_plugin(greeters: PluginGroup[Greeter], name: str,
                                                problem: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        greeters.create(name, "!")
    assert str(info.value).startswith(f"Greeter {name} ({GROUP}) {problem}")


def test_a_constructor_error_keeps_its_cause(greeters: PluginGroup[Greeter]) -> None:
    with pytest.raises(ConfigurationError) as info:
        greeters.create("broken", "!")
    assert isinstance(info.value.__cause__, ValueError)


def test_a_configuration_error_is_passed_on_unchanged(greeters: PluginGroup[Greeter]) -> None:
    """The plugin's own message already says what to fix (and may be upstream's)."""
    with pytest.raises(ConfigurationError) as info:
        greeters.create("misconfigured", "!")
    assert str(info.value) == "[greeting]voice must be set"


def test_protocol_members() -> None:
    assert protocol_members(Greeter) == {"name", "greet"}
    assert protocol_members(PXEFilter) == {"start", "allow", "deny", "reconcile", "stop"}


def test_built_in_groups_use_upstream_names() -> None:
    assert PXE_FILTER_DRIVERS.names() == ["dnsmasq", "iptables", "noop"]
    assert DATA_STORES.names() == ["database", "none", "swift"]
    assert COORDINATION_BACKENDS.names() == ["database", "local", "tooz"]
    assert create_access_control.__module__ == "metalscope.auth"


@pytest.mark.parametrize(("kind", "store"), [("none", NoStore), ("database", DatabaseStore),
                                             ("swift", SwiftStore)])
def test_data_store_by_name(kind: str, store: type) -> None:
    settings = load_settings(overrides={
        "processing": {"store_data": kind},
        "swift": {"auth_type": "none", "endpoint_override": "http://127.0.0.1:9/v1/AUTH_x"}})
    assert isinstance(create_store(settings, object()), store)  # type: ignore[arg-type]


def test_unknown_data_store() -> None:
    settings = load_settings(overrides={"processing": {"store_data": "s3"}})
    with pytest.raises(ConfigurationError) as info:
        create_store(settings, object())  # type: ignore[arg-type]
    assert str(info.value) == (
        "[processing]store_data = s3 is not available; use database, none or swift")


def test_unknown_data_store_refused_before_serving() -> None:
    """serve's start-up check asks the entry-point group, so an installed third-party store
    passes and an unknown name is refused with the same message, before any I/O."""
    settings = load_settings(overrides={"processing": {"store_data": "s3"}})
    with pytest.raises(ConfigurationError) as info:
        check_store_settings(settings)
    assert str(info.value) == (
        "[processing]store_data = s3 is not available; use database, none or swift")
    check_store_settings(load_settings(overrides={"processing": {"store_data": "database"}}))


def test_unknown_auth_strategy() -> None:
    """The settings only accept upstream's three names; a registry without one says so."""
    settings = load_settings()
    settings = replace(settings, default=replace(settings.default, auth_strategy="kerberos"))
    with pytest.raises(ConfigurationError) as info:
        create_access_control(settings)
    assert str(info.value) == ("Unknown [DEFAULT]auth_strategy kerberos; use one of "
                               "http_basic, keystone, noauth")


def test_unknown_hooks_keep_upstream_s_message() -> None:
    settings = load_settings(overrides={"processing": {
        "processing_hooks": "scheduler,nope,validate_interfaces,neither"}})
    with pytest.raises(ConfigurationError) as info:
        ExtensionRegistry.from_settings(settings)
    assert str(info.value) == "The following hook(s) are missing or failed to load: nope, neither"


def test_registry_holds_built_plugins() -> None:
    registry = ExtensionRegistry.from_settings(load_settings(overrides={"processing": {
        "node_not_found_hook": "example"}}))
    assert [name for name, _ in registry.hooks][:1] == ["ramdisk_error"]
    assert {"eq", "in-net"} <= set(registry.conditions)
    assert {"fail", "set-attribute"} <= set(registry.actions)
    assert registry.not_found_hook is not None
