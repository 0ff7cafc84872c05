"""The processing-hook contract.

A hook is a class registered under the entry-point group ``metalscope.processing_hooks``
with upstream's hook name (``ramdisk_error``, ``scheduler`` ...), so an existing
``[processing]processing_hooks`` line keeps working. It is constructed once at start-up
with the service settings; a constructor that raises (for example a configuration check)
stops the service with the hook's name in the message.

Hooks are synchronous and do no I/O. They change the introspection data in place and
record changes to the Ironic node through :class:`~metalscope.node_changes.NodeChanges`;
the pipeline sends those to Ironic once, after every hook and rule has run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from metalscope.node_changes import NodeChanges
from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient


@runtime_checkable
class ProcessingHook(Protocol):
    """A processing hook (spec 5.2)."""

    #: Names of hooks that must be enabled *before* this one.
    dependencies: ClassVar[list[str]]

    def __init__(self, settings: Settings) -> None: ...

    def before_processing(self, data: dict[str, Any]) -> None:
        """Run on the raw ramdisk data before the node is known; may modify ``data``.

        Raise :class:`~metalscope.errors.HookError` for an expected failure: it becomes the
        line ``Preprocessing hook <name>: <message>`` of the 400 answer, and the node (once
        found) ends in ``error``.
        """

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        """Run with the node found and locked; may modify ``data`` and edit ``node``.

        Raise :class:`~metalscope.errors.HookError` (or any MetalScopeError) to fail the
        introspection with that message.
        """


class BaseHook:
    """Convenience base: both phases do nothing."""

    dependencies: ClassVar[list[str]] = []

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def before_processing(self, data: dict[str, Any]) -> None:
        return None

    def before_update(self, data: dict[str, Any], node: NodeChanges) -> None:
        return None


@runtime_checkable
class NotFoundHook(Protocol):
    """A built node-not-found hook, as the extension registry holds it.

    The hook may change ``data`` (rules see it) and use ``ironic``; it does not touch
    MetalScope's records.
    """

    async def __call__(self, data: dict[str, Any], ironic: IronicClient) -> str | None:
        """Find or create the Ironic node for the pre-processed ``data``; return its UUID,
        or None when there is none (processing then fails with "Node not found hook
        returned nothing").

        For the node returned, processing takes the node lock and opens a new ``enrolling``
        record (managed boot, no lookup attributes), then goes on as for a node being
        introspected. An exception fails the processing with the line ``Node not found hook
        failed: <message>``; an unreachable Ironic (IronicError with no status, or
        502/503/504) has the hook called again until the callback's deadline.
        """


@runtime_checkable
class NodeNotFoundHook(NotFoundHook, Protocol):
    """A node-not-found hook class.

    Registered under the entry-point group ``metalscope.node_not_found_hooks`` and
    constructed once at start-up with the settings; the instance is a :class:`NotFoundHook`.
    """

    def __init__(self, settings: Settings) -> None: ...
