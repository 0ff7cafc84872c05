"""The webhook signature: HMAC-SHA256 of ``<timestamp>.<body>`` with the shared secret.

The sender puts the Unix time in ``X-MetalScope-Timestamp`` and ``sha256=<hex digest>`` in
``X-MetalScope-Signature``. A receiver computes the same digest over the timestamp header, a
dot and the raw body bytes, compares in constant time, and refuses a timestamp too far
from its clock (a replayed request); :func:`verify` does exactly that.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-MetalScope-Signature"
TIMESTAMP_HEADER = "X-MetalScope-Timestamp"
EVENT_HEADER = "X-MetalScope-Event"
DELIVERY_HEADER = "X-MetalScope-Delivery"
#: Seconds a receiver accepts between the timestamp and its own clock, by default.
DEFAULT_TOLERANCE = 300


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-MetalScope-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(secret: bytes, timestamp: str, signature: str, body: bytes, now: float,
           tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether a received request is genuine and fresh (the receiver's side)."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)
