"""``[drift]``: notifiers built from the settings, and refused at start-up in one line."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import certifi
import pytest

from metalscope.drift.log_notifier import LogNotifier
from metalscope.drift.notifiers import check_drift_settings, create_dispatcher
from metalscope.drift.webhook import WebhookNotifier, tls_verify
from metalscope.errors import ConfigurationError
from metalscope.settings import Settings, load_settings
from metalscope.settings.changes import changed_options
from metalscope.settings.sample import render_sample_config

WEBHOOK = {"notifiers": ["log", "webhook"], "webhook_url": "https://hooks.example.org/in",
           "webhook_secret": "very-secret"}


def drift_settings(**options: Any) -> Settings:
    return load_settings(overrides={"drift": options})


async def test_default_is_the_log_notifier() -> None:
    dispatcher = create_dispatcher(load_settings())
    assert dispatcher.names == ["log"]
    assert isinstance(dispatcher.lanes[0].notifier, LogNotifier)
    await dispatcher.aclose()


async def test_webhook_from_the_options() -> None:
    settings = drift_settings(**WEBHOOK, webhook_max_attempts=3, webhook_retry_delay=0.5,
                              webhook_max_retry_delay=8, webhook_queue_size=7,
                              webhook_timeout=2.5)
    dispatcher = create_dispatcher(settings)
    assert dispatcher.names == ["log", "webhook"]
    hook = dispatcher.lanes[1].notifier
    assert isinstance(hook, WebhookNotifier)
    assert (hook.url, hook.queue_size, hook.timeout) == (WEBHOOK["webhook_url"], 7, 2.5)
    assert (hook.retry.max_attempts, hook.retry.delay, hook.retry.max_delay) == (3, 0.5, 8)
    await dispatcher.aclose()


async def test_no_notifiers_and_duplicates() -> None:
    assert create_dispatcher(drift_settings(notifiers=[])).names == []
    assert create_dispatcher(drift_settings(notifiers=["log", " log"])).names == ["log"]


@pytest.mark.parametrize(("options", "message"), [
    ({"notifiers": ["log", "pager"]},
     "[drift]notifiers names pager, which is not a drift notifier; available: log, webhook"),
    ({"notifiers": ["webhook"], "webhook_secret": "x"},
     "[drift]webhook_url must be set to use the webhook drift notifier"),
    ({"notifiers": ["webhook"], "webhook_url": "https://h/x"},
     "[drift]webhook_secret must be set to use the webhook drift notifier"),
    ({**WEBHOOK, "webhook_url": "ftp://h/x"},
     "[drift]webhook_url must be an http:// or https:// URL, not 'ftp://h/x'"),
    ({**WEBHOOK, "webhook_cafile": "/nonexistent/ca.pem"},
     "[drift]webhook_cafile /nonexistent/ca.pem is not a file"),
])
def test_refused_at_start_up_in_one_line(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as exc:
        check_drift_settings(drift_settings(**options))
    assert str(exc.value) == message and "\n" not in str(exc.value)
    assert "very-secret" not in str(exc.value)


def test_a_cafile_without_certificates_is_refused(tmp_path: Path) -> None:
    cafile = tmp_path / "ca.pem"
    cafile.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="holds no usable certificate"):
        check_drift_settings(drift_settings(**WEBHOOK, webhook_cafile=str(cafile)))


def test_tls_options() -> None:
    assert tls_verify(None, False) is True
    assert tls_verify("/nonexistent", True) is False  # insecure wins
    assert isinstance(tls_verify(certifi.where(), False), ssl.SSLContext)


def test_valid_configuration_passes() -> None:
    check_drift_settings(drift_settings(**WEBHOOK, webhook_insecure=True))


def test_the_secret_is_hidden_in_the_sample() -> None:
    sample = render_sample_config(drift_settings(**WEBHOOK))
    assert "[drift]" in sample and "very-secret" not in sample
    assert "#webhook_max_attempts = 5" in sample


def test_a_reload_names_the_secret_without_its_value() -> None:
    changes = changed_options(drift_settings(**WEBHOOK),
                              drift_settings(**{**WEBHOOK, "webhook_secret": "rotated"}))
    assert [(c.label, c.old, c.new, c.mutable) for c in changes] == [
        ("[drift]webhook_secret", None, None, False)]
