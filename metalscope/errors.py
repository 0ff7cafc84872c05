"""Domain errors.

They carry a message (the exact upstream text where the spec names one) and structured
fields, and nothing else: no HTTP status, no logging. ``metalscope.api.errors`` maps each
class to a status code.
"""

from __future__ import annotations


class MetalScopeError(Exception):
    """Base of every expected error; maps to 400 unless a subclass says otherwise."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidRequest(MetalScopeError):
    """The request itself is malformed (400)."""


class NotFound(MetalScopeError):
    """Something named by the request does not exist (404)."""


class NodeNotInIronic(NotFound):
    def __init__(self, node_id: str) -> None:
        super().__init__(f"Node {node_id} was not found in Ironic")
        self.node_id = node_id


class IntrospectionNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Could not find node {uuid} in cache")
        self.uuid = uuid


class DataNotFound(NotFound):
    def __init__(self, uuid: str, processed: bool) -> None:
        super().__init__(f"Introspection data not found for node {uuid}, processed={processed}")


class RuleNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(f"Rule {uuid} was not found")


class Conflict(MetalScopeError):
    """The resource is busy or already exists (409)."""


class NodeLocked(Conflict):
    """Another worker holds the node lock."""


class InvalidTransition(MetalScopeError):
    """The state machine has no transition for (state, event)."""

    def __init__(self, state: str, event: str) -> None:
        super().__init__(
            f"Can not transition from state '{state}' on event '{event}' (no defined transition)"
        )
        self.state = state
        self.event = event


class StateConflict(MetalScopeError):
    """A compare-and-set on the status record lost a race (the record changed under us)."""


class HookError(MetalScopeError):
    """An expected failure raised by a processing hook."""


class ProcessingFailed(MetalScopeError):
    """Processing of ramdisk data failed (400): a pre-processing hook, the lookup, or the
    node's processing, with upstream's message."""


class UnexpectedProcessingError(ProcessingFailed):
    """Processing failed on an error nobody expected (a bug or a broken dependency, 500)."""


class LookupFailed(MetalScopeError):
    """Lookup of the node for incoming ramdisk data failed."""


class NodeNotFoundInLookup(LookupFailed):
    """No node matched the posted attributes (the only case the not-found hooks handle)."""


class RuleValidationError(MetalScopeError):
    """An introspection rule is invalid (400)."""


class RuleActionError(MetalScopeError):
    """A rule action failed while being applied."""


class IronicError(MetalScopeError):
    """Ironic rejected a request or could not be reached."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status

    @property
    def node_locked(self) -> bool:
        """Ironic refused because another operation holds the node (409 NodeLocked)."""
        # NodeLocked, ParentNodeLocked and ChildNodeLocked all say "locked".
        return self.status == 409 and "locked" in self.message.lower()


class IronicNoAnswer(IronicError):
    """A request left for Ironic but no answer came back (timed out, or the connection was
    lost after it was sent): Ironic may or may not have acted on it. ``status`` is None, as
    for an unreachable Ironic."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None)


class ObjectStorageError(MetalScopeError):
    """The object storage (Swift) of ``store_data = swift`` could not be reached or refused a
    request (400, with upstream's message)."""


class ObjectMissing(ObjectStorageError):
    """Swift answered that the object does not exist (400 as upstream, which words it as any
    other failure to get the object)."""


class StorageNotConfigured(NotFound):
    """``[processing]store_data = none`` and data was asked for."""


class ServiceUnavailable(MetalScopeError):
    """A dependency needed to answer is not available (503)."""


class ConfigurationError(MetalScopeError):
    """The configuration cannot work; the service refuses to start."""


class NotAuthenticated(MetalScopeError):
    """The route needs an authenticated caller (401)."""

    def __init__(self) -> None:
        super().__init__("Authentication required")


class AccessDenied(MetalScopeError):
    """The caller's roles do not allow this call (403)."""

    def __init__(self) -> None:
        super().__init__("Access denied by policy")
