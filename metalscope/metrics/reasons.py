"""Why an introspection ended in ``error``, as a bounded set of classes (a metric label):
where the failure happened, never its message."""

from __future__ import annotations

import enum

from metalscope.errors import HookError, IronicError, ObjectStorageError, RuleActionError
from metalscope.rules.engine import RuleTimeout


class FailureReason(enum.StrEnum):
    #: ``[DEFAULT]timeout`` passed before the introspection ended.
    TIMEOUT = "timeout"
    #: An operator aborted it.
    ABORTED = "aborted"
    #: The start failed: no lookup attributes, boot device or power refused by Ironic.
    BOOT = "boot"
    #: A processing hook refused the data (the ramdisk's own error included).
    PROCESSING_HOOK = "processing_hook"
    #: A rule failed (its ``fail`` action, a failing action, a condition past its time).
    RULE = "rule"
    #: Ironic refused or did not answer a request of the processing or the finish.
    IRONIC = "ironic"
    #: The introspection data store (Swift) failed.
    STORAGE = "storage"
    #: The BMC could not be read out of band (unreachable, credentials, missing resource).
    REDFISH = "redfish"
    #: The instance working on it stopped and nothing was left to resume from.
    INTERRUPTED = "interrupted"
    #: Anything else (an unexpected error).
    OTHER = "other"


def failure_reason(exc: BaseException) -> FailureReason:
    """The class of a processing failure, from the kind of error that ended it."""
    if isinstance(exc, (RuleActionError, RuleTimeout)):
        return FailureReason.RULE
    if isinstance(exc, HookError):
        return FailureReason.PROCESSING_HOOK
    if isinstance(exc, IronicError):
        return FailureReason.IRONIC
    if isinstance(exc, ObjectStorageError):
        return FailureReason.STORAGE
    return FailureReason.OTHER
