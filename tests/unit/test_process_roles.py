"""Process roles: what each runs, upstream's standalone guards, and the split-mode checks."""

from __future__ import annotations

from typing import Any

import pytest

from metalscope.errors import ConfigurationError
from metalscope.process_roles import (
    Role,
    check_deployment_mode,
    check_role,
    start_notes,
)
from metalscope.settings import Settings, load_settings

POSTGRESQL = "postgresql://inspector@db.example.org/inspector"


def settings(**sections: dict[str, Any]) -> Settings:
    return load_settings(overrides=sections)


def test_what_each_role_runs() -> None:
    assert [(r.serves_http, r.runs_duties, r.split) for r in Role] == [
        (True, True, False), (True, False, True), (False, True, True)]


@pytest.mark.parametrize(("command", "standalone", "message"), [
    ("ironic-inspector", False, "To run ironic-inspector in standalone mode, "
                                "[DEFAULT]standalone should be set to True."),
    ("ironic-inspector-conductor", True, "To run ironic-inspector-conductor, "
                                         "[DEFAULT]standalone should be set to False."),
    ("ironic-inspector-api-wsgi", True, "To run ironic-inspector-api, [DEFAULT]standalone "
                                        "should be set to False."),
])
def test_upstream_commands_refuse_the_other_mode(command: str, standalone: bool,
                                                 message: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_deployment_mode(settings(DEFAULT={"standalone": standalone}), command)
    assert str(caught.value) == message
    check_deployment_mode(settings(DEFAULT={"standalone": not standalone}), command)


@pytest.mark.parametrize("standalone", [True, False])
def test_other_commands_accept_either_mode(standalone: bool) -> None:
    check_deployment_mode(settings(DEFAULT={"standalone": standalone}), "metalscope")


@pytest.mark.parametrize("role", [Role.API, Role.CONDUCTOR])
def test_split_roles_refuse_process_local_coordination(role: Role) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_role(settings(), role)  # SQLite, no backend_url: in-process locks
    assert "\n" not in str(caught.value)
    assert f"The {role.value} role needs coordination shared between processes" in \
        str(caught.value)


@pytest.mark.parametrize("sections", [
    {"database": {"connection": POSTGRESQL}},
    {"coordination": {"backend_url": "redis://127.0.0.1:6379"}},
])
def test_split_roles_accept_shared_coordination(sections: dict[str, Any]) -> None:
    for role in Role:
        check_role(settings(**sections), role)


def test_all_in_one_needs_nothing_shared() -> None:
    check_role(settings(), Role.ALL_IN_ONE)


def test_split_mode_without_pxe_filter_sync_is_warned_about() -> None:
    quiet = settings(pxe_filter={"driver": "dnsmasq", "sync_period": 0})
    assert any("sync_period = 0" in note for note in start_notes(quiet, Role.CONDUCTOR))
    assert start_notes(quiet, Role.ALL_IN_ONE) == []
    synced = settings(pxe_filter={"driver": "dnsmasq", "sync_period": 15})
    assert start_notes(synced, Role.API) == []


def test_serve_notes_that_standalone_false_changes_nothing_for_it() -> None:
    split = settings(DEFAULT={"standalone": False})
    notes = start_notes(split, Role.ALL_IN_ONE)
    assert len(notes) == 1 and "this process runs all-in-one" in notes[0]
    assert start_notes(split, Role.CONDUCTOR) == []
