"""One out-of-band collection: the BMC's documents read in a worker thread, then mapped."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit

from metalscope.redfish.credentials import BmcAccess
from metalscope.redfish.errors import RedfishError
from metalscope.redfish.inventory import ramdisk_data
from metalscope.redfish.reader import read_documents


async def collect(access: BmcAccess, *, node_uuid: str, timeout: float,
                  collect_timeout: float) -> dict[str, Any]:
    """The introspection data of ``node_uuid`` read from its BMC (ramdisk format, spec 6).

    ``timeout`` bounds each Redfish request, ``collect_timeout`` the whole collection. sushy
    is synchronous, so the reading runs in a worker thread with its own session, closed at
    the end; a collection that runs out of time is abandoned (its thread ends at its next
    request timeout). Raises :class:`RedfishError`.
    """
    try:
        documents = await asyncio.wait_for(
            asyncio.to_thread(read_documents, access, node=node_uuid, timeout=timeout),
            collect_timeout)
    except TimeoutError:
        raise RedfishError(node_uuid, access.system_id or access.root_prefix,
                           f"no complete answer within {collect_timeout:g} s",
                           kind="unreachable") from None
    return ramdisk_data(documents, bmc_host=urlsplit(access.address).hostname)
