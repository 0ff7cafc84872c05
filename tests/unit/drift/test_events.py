"""DriftEvent.payload and the signature helpers."""

from __future__ import annotations

import datetime
import json

from metalscope.drift.signature import sign, verify
from tests.unit.drift.events import FINISHED, NODE_UUID, drift_event
from tests.unit.drift.receiver import SECRET, receiver_accepts


def test_payload_is_json_ready_and_complete() -> None:
    event = drift_event()
    payload = json.loads(json.dumps(event.payload()))
    assert payload == {
        "event": "hardware.drift", "delivery_id": event.delivery_id,
        "node": {"uuid": NODE_UUID, "name": "compute-7"},
        "from_version": 1, "to_version": 2, "finished_at": "2026-12-06T04:30:15.123456+00:00",
        "summary": event.summary, "diff": event.diff}


def test_naive_finished_at_is_utc() -> None:
    event = drift_event(finished_at=FINISHED.replace(tzinfo=None))
    assert event.payload()["finished_at"] == "2026-12-06T04:30:15.123456+00:00"
    other = drift_event(finished_at=FINISHED.astimezone(datetime.timezone(
        datetime.timedelta(hours=2))))
    assert other.payload()["finished_at"].endswith("+02:00")


def test_delivery_id_is_stable_per_node_and_versions() -> None:
    assert drift_event().delivery_id == drift_event(summary="other").delivery_id
    assert drift_event(2).delivery_id != drift_event(3).delivery_id
    assert drift_event(node_uuid="x").delivery_id != drift_event().delivery_id


def test_signature_matches_an_independent_receiver() -> None:
    body = b'{"event":"hardware.drift"}'
    headers = {"X-MetalScope-Timestamp": "1765000000",
               "X-MetalScope-Signature": sign(SECRET.encode(), 1765000000, body)}
    assert receiver_accepts(SECRET, headers, body, now=1765000010)
    assert not receiver_accepts("another secret", headers, body, now=1765000010)
    assert not receiver_accepts(SECRET, headers, body + b" ", now=1765000010)
    assert not receiver_accepts(SECRET, headers, body, now=1765000000 + 301)


def test_verify() -> None:
    body = b"{}"
    signature = sign(b"k", 100, body)
    assert verify(b"k", "100", signature, body, now=100)
    assert not verify(b"k", "101", signature, body, now=100)
    assert not verify(b"k", "100", signature, body, now=1000)
    assert not verify(b"k", "soon", signature, body, now=100)
    assert not verify(b"other", "100", signature, body, now=100)
