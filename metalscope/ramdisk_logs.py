"""Saving the ramdisk's log tarball (spec 5.5).

Saving is best effort: a file that cannot be written (the disk is full, the folder is not
writable) is logged with the reason and does not fail the callback; a partly written file
is removed rather than left looking like a complete tarball.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import logging
from pathlib import Path
from typing import Any

from metalscope import inventory

LOG = logging.getLogger(__name__)


def log_file_name(template: str, data: dict[str, Any], uuid: str | None) -> str:
    mac = inventory.pxe_mac(data)
    return template.format(uuid=uuid or "unknown",
                           mac=mac.replace(":", "") if mac else "unknown",
                           dt=datetime.datetime.now(datetime.UTC).replace(tzinfo=None),
                           bmc=inventory.bmc_v4(data) or "unknown")


def save_ramdisk_logs(logs_dir: str | None, template: str, data: dict[str, Any],
                      uuid: str | None) -> Path | None:
    """Write ``data['logs']`` (base64) to the logs folder; failures are only logged."""
    if not logs_dir:
        return None
    logs = data.get("logs")
    if not logs:
        LOG.warning("No logs were passed by the ramdisk (node %s)", uuid or "unknown")
        return None
    try:
        content = base64.b64decode(logs)
        folder = Path(logs_dir)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / log_file_name(template, data, uuid)
        write_whole(path, content)
    except (OSError, ValueError, TypeError, binascii.Error, KeyError) as exc:
        LOG.error("Failed to store ramdisk logs of node %s: %s", uuid or "unknown", exc)
        return None
    LOG.info("Ramdisk logs of node %s stored in %s", uuid or "unknown", path)
    return path


def write_whole(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path``; when the write fails (ENOSPC...), remove what it left."""
    handle = path.open("wb")
    try:
        with handle:
            handle.write(content)
    except OSError:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            LOG.warning("Could not remove the incomplete ramdisk log file %s: %s", path, exc)
        raise
