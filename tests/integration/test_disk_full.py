"""A really full disk: the SQLite database and the ramdisk logs on a 2 MiB tmpfs.

Mounting needs root (CAP_SYS_ADMIN); elsewhere these tests are skipped, and
``tests/unit/storage/test_disk_full.py`` still gives SQLite a real "database or disk is
full" through ``PRAGMA max_page_count``.
"""

from __future__ import annotations

import base64
import logging
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from metalscope.extensions import ExtensionRegistry
from metalscope.ramdisk_logs import save_ramdisk_logs
from metalscope.settings import load_settings
from metalscope.storage import migrate
from tests.factories import ramdisk_data
from tests.fakes import FakeIronic
from tests.unit.api.conftest import make_client

pytestmark = pytest.mark.integration

BMC = "192.0.2.200"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted at the end."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs",
                              str(mount_point)], capture_output=True, text=True, check=False)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(folder: Path) -> Path:
    """Write zeros until the disk refuses; the filler file to delete to free the space."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == 28
    return filler


def callback() -> dict[str, Any]:
    data = ramdisk_data(logs=base64.b64encode(b"ramdisk journal\n" * 4096).decode())
    data["extra_blob"] = "y" * 300_000  # stored with the unprocessed data
    return data


def settled(client: TestClient, uuid: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body: dict[str, Any] = client.get(f"/v1/introspection/{uuid}").json()
        if body.get("finished") or time.monotonic() > deadline:
            return body
        time.sleep(0.02)


def test_full_disk_is_503_then_recovers(small_disk: Path) -> None:
    """A callback on a full disk gets 503 naming the cause; the node still waits, the
    service answers; once space is freed the ramdisk's retry is processed."""
    url = f"sqlite:///{small_disk / 'metalscope.sqlite'}"
    migrate.upgrade(url)
    settings = load_settings(overrides={
        "database": {"connection": url}, "DEFAULT": {"introspection_delay": 0},
        "processing": {"store_data": "database", "always_store_ramdisk_logs": True,
                       "ramdisk_logs_dir": str(small_disk / "logs")}})
    ironic = FakeIronic()
    node = ironic.add_node(driver_info={"ipmi_address": BMC}, macs=["3c:fd:fe:aa:00:01"])
    with make_client(settings, ironic, ExtensionRegistry.from_settings(settings)) as client:
        assert client.post(f"/v1/introspection/{node['uuid']}?manage_boot=0").status_code == 202
        filler = fill(small_disk)
        response = client.post("/v1/continue", json=callback())
        assert response.status_code == 503, response.text
        assert response.headers.get("retry-after") in ("60", None)  # sent once the API passes it
        assert response.json()["error"]["message"] == (
            "The database is out of space and cannot store this change: database or disk "
            "is full. Free disk space where the database is stored.")
        assert client.get("/").status_code == 200
        assert client.get(f"/v1/introspection/{node['uuid']}").json()["state"] == "waiting"
        os.unlink(filler)
        retry = client.post("/v1/continue", json=callback())
        assert retry.status_code == 200 and retry.json() == {"uuid": node["uuid"]}
        assert settled(client, node["uuid"])["state"] == "finished"


def test_ramdisk_logs_on_a_full_disk(small_disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Logs that do not fit are logged with the reason, and no partial file is left."""
    fill(small_disk)
    logs_dir = small_disk / "logs"
    logs_dir.mkdir()
    data = {"logs": base64.b64encode(os.urandom(256 * 1024)).decode()}
    with caplog.at_level(logging.ERROR, logger="metalscope.ramdisk_logs"):
        saved = save_ramdisk_logs(str(logs_dir), "{uuid}_{dt:%Y%m%d-%H%M%S.%f}.tar.gz", data,
                                  "uuid-1")
    assert saved is None
    assert "Failed to store ramdisk logs of node uuid-1: [Errno 28] No space left on device" \
        in caplog.text
    assert list(logs_dir.iterdir()) == []
