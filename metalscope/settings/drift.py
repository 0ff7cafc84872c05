"""``[drift]``: where hardware drift events go (:mod:`metalscope.drift`)."""

from __future__ import annotations

from metalscope.settings.option import (
    BOOLEAN,
    FLOAT,
    INTEGER,
    LIST,
    STRING,
    option,
    optional,
    section,
)


@section
class DriftSection:
    """``[drift]``: the notifiers told when a finished inspection differs from the last."""

    notifiers: list[str] = option(
        LIST, ["log"],
        help="Drift notifiers (entry points of metalscope.drift_notifiers) told when a "
             "finished inspection differs from the node's previous one: 'log' (one INFO "
             "line), 'webhook' (a signed POST). Empty: no drift events.")
    webhook_url: str | None = optional(
        STRING,
        help="URL the webhook notifier POSTs drift events to (http:// or https://).")
    webhook_secret: str | None = optional(
        STRING, secret=True,
        help="Shared secret of the webhook's HMAC-SHA256 signature (X-MetalScope-Signature "
             "header); required with the webhook notifier.")
    webhook_timeout: float = option(
        FLOAT, 10.0, min=0.1,
        help="Seconds one webhook attempt may take (connection and answer).")
    webhook_max_attempts: int = option(
        INTEGER, 5, min=1,
        help="Attempts per drift event before the webhook gives it up (1: no retry).")
    webhook_retry_delay: float = option(
        FLOAT, 1.0, min=0,
        help="Seconds before the first retry of a webhook delivery; doubled at each "
             "further retry (with jitter), up to webhook_max_retry_delay.")
    webhook_max_retry_delay: float = option(
        FLOAT, 60.0, min=0,
        help="Longest wait between two webhook attempts, in seconds (a Retry-After the "
             "receiver sends is honoured up to this bound).")
    webhook_queue_size: int = option(
        INTEGER, 1000, min=1,
        help="Drift events that may wait for the webhook; when full, the oldest is dropped "
             "(with a warning).")
    webhook_cafile: str | None = optional(
        STRING,
        help="PEM file of the certificate authorities that sign the webhook's HTTPS "
             "certificate (default: the system's).")
    webhook_insecure: bool = option(
        BOOLEAN, False,
        help="Do not verify the webhook's HTTPS certificate.")
    shutdown_timeout: float = option(
        FLOAT, 10.0, min=0,
        help="Seconds drift events still queued may take to be delivered when the service "
             "stops; what is left then is dropped and logged.")
