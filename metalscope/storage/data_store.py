"""Introspection data stores (``[processing]store_data``, spec section 9)."""

from __future__ import annotations

from typing import Any, Protocol

from metalscope.errors import ConfigurationError
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


class NoStore:
    """``store_data = none``: saving is a no-op, nothing can be read back."""

    enabled = False
    in_repository = False

    async def save(self, uuid: str, processed: bool, data: dict[str, Any]) -> None:
        return None

    async def get(self, uuid: str, processed: bool) -> str | None:
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


def create_store(settings: Settings, repo: Repository) -> DataStore:
    kind = settings.processing.store_data
    if kind == "none":
        return NoStore()
    if kind == "database":
        return DatabaseStore(repo)
    raise ConfigurationError(
        f"[processing]store_data = {kind} is not available; use database or none")
