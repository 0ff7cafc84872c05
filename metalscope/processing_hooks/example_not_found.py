"""The ``example`` node-not-found hook: logs the data it is given and finds nothing (spec 4.5)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from metalscope.settings import Settings

if TYPE_CHECKING:
    from metalscope.ironic_client import IronicClient

LOG = logging.getLogger(__name__)


class ExampleNotFoundHook:
    """A template for third-party not-found hooks; processing then fails as "returned nothing"."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(self, data: dict[str, Any], ironic: IronicClient) -> str | None:
        """Log the keys of the unmatched data and return None."""
        LOG.info("example node_not_found_hook called, data keys: %s", sorted(data))
        return None
