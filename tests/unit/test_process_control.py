"""Signals of a running process: the stop bound, SIGHUP's reload, the handlers themselves."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from pathlib import Path

import pytest

from metalscope.process_control import (
    SettingsReloader,
    StopRequest,
    change_lines,
    signals_handled,
)
from metalscope.settings import Settings, load_settings
from metalscope.settings.changes import OptionChange


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_stop_bound_counts_from_the_request() -> None:
    clock = Clock()
    stop = StopRequest(5, clock)
    assert not stop.requested and stop.remaining() == 5
    stop.request()
    clock.now += 2
    assert stop.requested and stop.remaining() == 3
    clock.now += 10
    assert stop.remaining() == 0


def test_a_second_request_stops_waiting() -> None:
    stop = StopRequest(60, Clock())
    stop.request()
    assert not stop.forced
    stop.request()
    assert stop.forced and stop.remaining() == 0


def test_a_zero_timeout_waits_without_limit() -> None:
    stop = StopRequest(0, Clock())
    stop.request()
    assert stop.remaining() is None


def test_change_lines() -> None:
    assert change_lines([OptionChange("DEFAULT", "debug", False, True, True),
                         OptionChange("DEFAULT", "timeout", 10, 20, False)]) == [
        "Option [DEFAULT]debug changed from False to True",
        "Option [DEFAULT]timeout changed in the configuration files; it takes effect when "
        "the process is restarted"]


class Files:
    """A real configuration file and what the reloader applied."""

    def __init__(self, tmp_path: Path) -> None:
        self.path = tmp_path / "inspector.conf"
        self.applied: list[tuple[Settings, Settings]] = []

    def write(self, text: str) -> None:
        self.path.write_text("[DEFAULT]\n" + text)

    def load(self) -> Settings:
        return load_settings([str(self.path)])

    def apply(self, old: Settings, new: Settings) -> None:
        self.applied.append((old, new))

    def reloader(self) -> SettingsReloader:
        return SettingsReloader(self.load(), self.load, self.apply)


async def test_reload_applies_mutable_options_and_names_the_others(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = Files(tmp_path)
    files.write("debug = False\ntimeout = 100\n")
    reloader = files.reloader()
    files.write("debug = True\ntimeout = 200\n")
    caplog.set_level(logging.INFO)
    assert await reloader.reload()
    (old, new), = files.applied
    assert (old.logging.debug, new.logging.debug) == (False, True)
    assert new.default.timeout == 100  # needs a restart: the process keeps its value
    assert reloader.current is new
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["Option [DEFAULT]timeout changed in the configuration files; it "
                        "takes effect when the process is restarted"]
    assert "Option [DEFAULT]debug changed from False to True" in caplog.text


async def test_a_configuration_that_does_not_load_keeps_the_current_one(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    files = Files(tmp_path)
    files.write("debug = False\n")
    reloader = files.reloader()
    current = reloader.current
    files.write("debug = perhaps\n")
    assert not await reloader.reload()
    assert files.applied == [] and reloader.current is current
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "\n" not in errors[0]
    assert errors[0].startswith("The configuration was not reloaded, the current settings "
                                "stay in force: ")


async def test_a_failed_apply_keeps_the_current_settings(tmp_path: Path) -> None:
    files = Files(tmp_path)
    files.write("debug = False\n")

    def refuse(old: Settings, new: Settings) -> None:
        raise ValueError("no")

    reloader = SettingsReloader(files.load(), files.load, refuse)
    current = reloader.current
    files.write("debug = True\n")
    assert not await reloader.reload()
    assert reloader.current is current


async def test_signals_stop_and_reload(tmp_path: Path) -> None:
    files = Files(tmp_path)
    files.write("debug = False\n")
    reloader = files.reloader()
    stop, stopped = StopRequest(5), asyncio.Event()
    loop = asyncio.get_running_loop()
    with signals_handled(loop, stop, stopped.set, reloader):
        files.write("debug = True\n")
        os.kill(os.getpid(), signal.SIGHUP)
        for _ in range(200):
            if files.applied:
                break
            await asyncio.sleep(0.01)
        assert files.applied and not stop.requested
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stopped.wait(), 5)
        assert stop.requested and not stop.forced
        os.kill(os.getpid(), signal.SIGINT)
        await asyncio.sleep(0.05)
        assert stop.forced
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
