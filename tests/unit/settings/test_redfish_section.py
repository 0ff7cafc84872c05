"""``[redfish]``: defaults, values from a file, choices checked, and the sample."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalscope.settings import load_settings
from metalscope.settings.sample import render_sample_config


def test_defaults() -> None:
    redfish = load_settings().redfish
    assert (redfish.default_method, redfish.timeout, redfish.collect_timeout,
            redfish.max_concurrent, redfish.verify_ca_default) == ("inband", 30.0, 120.0, 8, True)
    assert (redfish.refresh_interval, redfish.refresh_jitter, redfish.refresh_batch) == (
        0, 0.1, 50)


def test_read_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "inspector.conf"
    path.write_text("[redfish]\ndefault_method = redfish\nmax_concurrent = 2\n"
                    "verify_ca_default = false\n")
    redfish = load_settings([str(path)]).redfish
    assert (redfish.default_method, redfish.max_concurrent, redfish.verify_ca_default) == (
        "redfish", 2, False)


def test_unknown_method_refused(tmp_path: Path) -> None:
    path = tmp_path / "inspector.conf"
    path.write_text("[redfish]\ndefault_method = ipmi\n")
    # oslo.config's own error, as for any other option with choices.
    with pytest.raises(Exception, match="Valid values are \\[inband, redfish\\]"):
        load_settings([str(path)])


def test_in_the_sample() -> None:
    sample = render_sample_config()
    assert "[redfish]" in sample and "#default_method = inband" in sample
