"""Drift events for the tests."""

from __future__ import annotations

import datetime
from typing import Any

from metalscope.drift.events import DriftEvent

NODE_UUID = "1be26c0b-03f2-4d2e-ae87-c02d7f33c123"
FINISHED = datetime.datetime(2026, 12, 6, 4, 30, 15, 123456, tzinfo=datetime.UTC)


def drift_event(to_version: int = 2, **fields: Any) -> DriftEvent:
    values: dict[str, Any] = {
        "node_uuid": NODE_UUID, "node_name": "compute-7", "from_version": to_version - 1,
        "to_version": to_version, "finished_at": FINISHED,
        "summary": "memory 65536 → 57344 MiB; disk serial:S3Z1NB0K removed",
        "diff": {"changed": True, "summary": "memory 65536 → 57344 MiB",
                 "memory": {"total_mb": {"old": 65536, "new": 57344, "delta": -8192}}}}
    values.update(fields)
    return DriftEvent(**values)
