"""Drift webhooks delivered to a real HTTP(S) server on loopback, signed, retried after 503s.

The notifiers are built from ``[drift]`` options exactly as ``serve`` builds them
(:func:`~metalscope.drift.notifiers.create_dispatcher`), and the dispatcher's shutdown
drain is what waits for the deliveries.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from pathlib import Path
from typing import Any

import pytest

from metalscope.drift.events import DriftEvent
from metalscope.drift.notifiers import create_dispatcher
from metalscope.settings import Settings, load_settings
from metalscope.testing.certificates import TestAuthority
from metalscope.testing.webhook_receiver import WebhookReceiver

pytestmark = pytest.mark.integration

SECRET = "integration-shared-secret"
NODE = "6a0c6d3e-4b0e-4d8e-9a42-5f1e6b2a7c10"


def event(to_version: int, summary: str) -> DriftEvent:
    return DriftEvent(node_uuid=NODE, node_name="rack3-node12", from_version=to_version - 1,
                      to_version=to_version,
                      finished_at=datetime.datetime(2026, 12, 6, 5, 0, tzinfo=datetime.UTC),
                      summary=summary,
                      diff={"changed": True, "summary": summary,
                            "memory": {"total_mb": {"old": 65536, "new": 57344,
                                                    "delta": -8192}}})


def webhook_settings(url: str, secret: str = SECRET, **options: Any) -> Settings:
    return load_settings(overrides={"drift": {
        "notifiers": ["log", "webhook"], "webhook_url": url, "webhook_secret": secret,
        "webhook_retry_delay": 0.05, "webhook_max_retry_delay": 0.2,
        "webhook_max_attempts": 4, "shutdown_timeout": 60, **options}})


async def test_signed_webhook_retried_after_503s_then_accepted(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="metalscope.drift")
    receiver = WebhookReceiver(SECRET, statuses=[503, 503, 200])
    with receiver.running():
        dispatcher = create_dispatcher(webhook_settings(receiver.url))
        first, second = event(2, "memory 65536 → 57344 MiB"), event(3, "disk sdb removed")
        dispatcher.emit(first)
        dispatcher.emit(second)
        await dispatcher.aclose()  # drains: both delivered well within shutdown_timeout
    requests = receiver.requests
    assert [r.status for r in requests] == [503, 503, 200, 200]
    assert all(r.signature_ok and r.path == "/hooks/drift" for r in requests)
    assert [r.headers["x-metalscope-delivery"] for r in requests] == \
        [first.delivery_id] * 3 + [second.delivery_id]
    assert all(r.headers["x-metalscope-event"] == "hardware.drift" for r in requests)
    assert requests[2].payload() == first.payload()
    assert requests[3].payload()["summary"] == "disk sdb removed"
    messages = [r.getMessage() for r in caplog.records]
    assert sum("retrying in" in m for m in messages) == 2
    assert sum(m.startswith(f"Hardware drift on node {NODE}") for m in messages) == 2
    assert not any("gave up" in m for m in messages)


async def test_a_wrong_secret_is_refused_once_and_given_up(
        caplog: pytest.LogCaptureFixture) -> None:
    receiver = WebhookReceiver(SECRET)
    with receiver.running():
        dispatcher = create_dispatcher(webhook_settings(receiver.url, secret="not the secret"))
        dispatcher.emit(event(2, "firmware changed"))
        await dispatcher.aclose()
    assert [(r.status, r.signature_ok) for r in receiver.requests] == [(401, False)]
    assert "gave up delivery" in caplog.text and "HTTP 401" in caplog.text
    assert "not the secret" not in caplog.text


async def test_attempts_are_bounded_against_a_receiver_that_keeps_failing(
        caplog: pytest.LogCaptureFixture) -> None:
    receiver = WebhookReceiver(SECRET, statuses=[500])
    with receiver.running():
        dispatcher = create_dispatcher(webhook_settings(receiver.url, webhook_max_attempts=3))
        dispatcher.emit(event(2, "NIC replaced"))
        await dispatcher.aclose()
    assert len(receiver.requests) == 3
    assert "after 3 attempt(s): HTTP 500" in caplog.text


async def test_https_with_the_configured_ca(tmp_path: Path) -> None:
    authority = TestAuthority(tmp_path / "ca")
    server = authority.issue("receiver", "127.0.0.1", ips=("127.0.0.1",))
    receiver = WebhookReceiver(SECRET)
    with receiver.running(tls=(server.cert_file, server.key_file)):
        trusting = create_dispatcher(webhook_settings(
            receiver.url, webhook_cafile=str(authority.cert_file)))
        trusting.emit(event(2, "BIOS 2.1 → 2.3"))
        await trusting.aclose()
        assert [r.status for r in receiver.requests] == [200]
        # Without the CA the certificate is refused: nothing reaches the receiver.
        untrusting = create_dispatcher(webhook_settings(receiver.url,
                                                        webhook_max_attempts=1))
        untrusting.emit(event(3, "BIOS 2.3 → 2.4"))
        await untrusting.aclose()
        assert len(receiver.requests) == 1


async def test_shutdown_does_not_wait_beyond_its_bound(
        caplog: pytest.LogCaptureFixture) -> None:
    """A receiver that keeps answering 503 with a long back-off: the drain gives up at
    shutdown_timeout and logs the event as not delivered."""
    receiver = WebhookReceiver(SECRET, statuses=[503])
    with receiver.running():
        dispatcher = create_dispatcher(webhook_settings(
            receiver.url, webhook_retry_delay=3600, webhook_max_retry_delay=3600,
            shutdown_timeout=0.5))
        dispatcher.emit(event(2, "GPU removed"))
        await asyncio.to_thread(receiver.wait_for, 1)
        await asyncio.wait_for(dispatcher.aclose(), 60)
    assert len(receiver.requests) == 1
    assert "1 event(s) not delivered at shutdown" in caplog.text
