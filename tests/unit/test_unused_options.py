"""Upstream options MetalScope ignores are named at start-up when a file sets them."""

from __future__ import annotations

from pathlib import Path

from metalscope.settings import load_settings
from metalscope.unused_options import UNUSED, ignored_settings


def test_only_options_set_away_from_their_default_are_named(tmp_path: Path) -> None:
    conf = tmp_path / "inspector.conf"
    conf.write_text("[DEFAULT]\nmax_concurrency = 1000\nenable_mdns = true\n"
                    "transport_url = fake://\n[ssl]\nversion = TLSv1_2\n")
    lines = ignored_settings(load_settings([str(conf)]).differs_from_default)
    assert lines == [
        "[DEFAULT]enable_mdns is ignored: MetalScope does not advertise itself over mDNS",
        "[ssl]version is ignored: TLS versions are negotiated"]


def test_upstream_defaults_and_unknown_options_are_silent() -> None:
    settings = load_settings()
    assert ignored_settings(settings.differs_from_default) == []
    assert not settings.differs_from_default("DEFAULT", "no_such_option")
    assert not settings.differs_from_default("no_such_section", "x")


def test_every_listed_option_is_registered() -> None:
    """A name in the table that the settings do not declare could never be reported."""
    overrides: dict[str, dict[str, object]] = {}
    for section, option in UNUSED:
        overrides.setdefault(section, {})[option] = _other(section, option)
    settings = load_settings(overrides=overrides)
    assert len(ignored_settings(settings.differs_from_default)) == len(UNUSED)


def _other(section: str, option: str) -> object:
    return {"max_concurrency": 7, "enable_mdns": True, "rootwrap_config": "/x",
            "fatal_exception_format_errors": True, "max_request_body_size": 1,
            "version": "TLSv1_2"}[option]
