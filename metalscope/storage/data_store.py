"""Introspection data stores (``[processing]store_data``, spec section 9).

A store is registered under the entry-point group ``metalscope.data_stores`` with upstream's
name (``none``, ``database``, ``swift``: :mod:`metalscope.storage.swift_store`), so
``[processing]store_data`` keeps working. The entry point is a factory called as
``factory(settings, repo)`` that returns a :class:`DataStore`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, Protocol, cast

from metalscope.plugin_group import PluginGroup
from metalscope.settings import Settings
from metalscope.storage.repository import Repository


class DataStore(Protocol):
    enabled: bool
    #: Whether the data lives in the repository's database (then written in the same
    #: transactions as the status record).
    in_repository: bool

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None: ...

    async def get(self, uuid: str, processed: bool) -> str | None:
        """The stored JSON text, or None when nothing is stored."""

    async def aclose(self) -> None:
        """Release what the store holds open (connections)."""


def _not_a_store(name: str, available: Sequence[str]) -> str:
    choices = ", ".join(available[:-1]) + f" or {available[-1]}" if len(available) > 1 \
        else "".join(available)
    return f"[processing]store_data = {name} is not available; use {choices}"


DATA_STORES: PluginGroup[DataStore] = PluginGroup(
    "metalscope.data_stores", "Introspection data store", DataStore, _not_a_store)


class NoStore:
    """``store_data = none``: saving is a no-op, nothing can be read back."""

    enabled = False
    in_repository = False

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        return None

    async def get(self, uuid: str, processed: bool) -> str | None:
        return None

    async def aclose(self) -> None:
        return None


class DatabaseStore:
    """``store_data = database``: one row per (node, processed flag)."""

    enabled = True
    in_repository = True

    def __init__(self, repo: Repository) -> None:
        self.repo = repo

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        await self.repo.store_data(uuid, processed, data)

    async def get(self, uuid: str, processed: bool) -> str | None:
        return await self.repo.get_data(uuid, processed)

    async def aclose(self) -> None:
        return None  # the repository belongs to its opener


def no_store(settings: Settings, repo: Repository) -> NoStore:
    return NoStore()


def database_store(settings: Settings, repo: Repository) -> DatabaseStore:
    return DatabaseStore(repo)


def check_store_settings(settings: Settings) -> None:
    """Refuse a ``[processing]store_data`` naming no installed store, or a store its options
    cannot build (before anything starts: it is built without a repository, then closed)."""
    store = DATA_STORES.create(settings.processing.store_data, settings,
                               cast(Repository, None))
    asyncio.run(store.aclose())


def create_store(settings: Settings, repo: Repository, name: str | None = None) -> DataStore:
    """The store ``name`` names (default: ``[processing]store_data``'s)."""
    return DATA_STORES.create(name or settings.processing.store_data, settings, repo)
