"""DriftEvent: a finished inspection that differs from the node's previous one."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Any

#: The event type of every drift event (``X-MetalScope-Event``, ``event`` in the payload).
EVENT_TYPE = "hardware.drift"
_DELIVERY_NAMESPACE = uuid.UUID("5b0f3c1e-8d55-4f59-9a57-3f1d0e6a9c21")


@dataclass(frozen=True)
class DriftEvent:
    node_uuid: str
    node_name: str | None
    from_version: int
    to_version: int
    finished_at: datetime.datetime
    summary: str
    diff: dict[str, Any]

    @property
    def delivery_id(self) -> str:
        """Stable for one node and pair of versions, so a receiver can drop a repeat (a
        retry whose first answer was lost) whoever sends it."""
        name = f"{self.node_uuid}:{self.from_version}:{self.to_version}"
        return str(uuid.uuid5(_DELIVERY_NAMESPACE, name))

    def payload(self) -> dict[str, Any]:
        """The JSON-ready document notifiers send."""
        return {
            "event": EVENT_TYPE,
            "delivery_id": self.delivery_id,
            "node": {"uuid": self.node_uuid, "name": self.node_name},
            "from_version": self.from_version,
            "to_version": self.to_version,
            "finished_at": _iso(self.finished_at),
            "summary": self.summary,
            "diff": self.diff,
        }

    def label(self) -> str:
        """``node <uuid> (<name>) versions 3 → 4``, for log lines."""
        name = f" ({self.node_name})" if self.node_name else ""
        return (f"node {self.node_uuid}{name} versions {self.from_version} → "
                f"{self.to_version}")


def _iso(moment: datetime.datetime) -> str:
    """ISO 8601; a naive time (the database's) is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.isoformat()
