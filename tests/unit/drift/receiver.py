"""What a webhook receiver does with a drift event, written independently of the sender."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SECRET = "s3cr3t-shared-with-the-receiver"


def receiver_accepts(secret: str, headers: Mapping[str, str], body: bytes, now: float,
                     tolerance: float = 300) -> bool:
    """Recompute HMAC-SHA256(secret, "<timestamp>.<body>") and compare, as a receiver would."""
    timestamp = headers["X-MetalScope-Timestamp"]
    if abs(now - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", headers["X-MetalScope-Signature"])
