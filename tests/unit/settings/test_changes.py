"""Options that differ between two loads of the settings, and the mutable ones taken over."""

from __future__ import annotations

from metalscope.settings import load_settings
from metalscope.settings.changes import OptionChange, changed_options, with_mutable

BEFORE = load_settings(overrides={"DEFAULT": {"debug": False, "clean_up_period": 60},
                                  "database": {"connection": "sqlite:///a.sqlite"}})
AFTER = load_settings(overrides={
    "DEFAULT": {"debug": True, "clean_up_period": 30,
                "default_log_levels": ["sqlalchemy=WARN"]},
    "database": {"connection": "sqlite:///b.sqlite"}})


def test_changes_name_the_section_and_whether_they_apply_at_once() -> None:
    changes = {change.label: change for change in changed_options(BEFORE, AFTER)}
    assert set(changes) == {"[DEFAULT]clean_up_period", "[DEFAULT]debug",
                            "[DEFAULT]default_log_levels", "[database]connection"}
    assert changes["[DEFAULT]debug"] == OptionChange("DEFAULT", "debug", False, True, True)
    assert changes["[DEFAULT]default_log_levels"].mutable
    assert not changes["[DEFAULT]clean_up_period"].mutable


def test_secret_values_are_not_kept() -> None:
    change = next(c for c in changed_options(BEFORE, AFTER) if c.name == "connection")
    assert (change.old, change.new, change.mutable) == (None, None, False)


def test_no_change_is_no_change() -> None:
    assert changed_options(BEFORE, BEFORE) == []


def test_with_mutable_takes_only_the_mutable_options() -> None:
    merged = with_mutable(BEFORE, AFTER)
    assert merged.logging.debug is True
    assert merged.logging.default_log_levels == ["sqlalchemy=WARN"]
    assert merged.default.clean_up_period == 60
    assert merged.database.connection == "sqlite:///a.sqlite"
    assert [c.label for c in changed_options(merged, AFTER)] == [
        "[DEFAULT]clean_up_period", "[database]connection"]
