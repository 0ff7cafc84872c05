"""Integration fixtures: an IronicClient on the session's real Ironic; a real Keystone.

The ``ironic``, ``mac_factory`` and ``make_node`` fixtures are in ``tests/conftest.py`` so the
compat tier shares them.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.settings import Settings, load_settings
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.keystone import LocalKeystone


@pytest.fixture
def ironic_settings(ironic: LocalIronic) -> Settings:
    """Embedded-default settings with ``[ironic]`` pointing at the session's Ironic, no auth."""
    return load_settings(overrides={"ironic": {"auth_type": "none",
                                               "endpoint_override": ironic.url}})


@pytest.fixture
async def ironic_client(ironic_settings: Settings) -> AsyncIterator[IronicClient]:
    """An IronicClient built the way the service builds it, from settings."""
    client = IronicClient.from_settings(ironic_settings)
    yield client
    await client.aclose()


@pytest.fixture(scope="session")
def keystone(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeystone]:
    """One real Keystone (SQLite, fernet tokens, bootstrap admin) for the whole session.

    Its virtual environment comes from ``METALSCOPE_KEYSTONE_VENV`` (default
    ``.venv-keystone``). Without it the tests that need Keystone are skipped, except under CI,
    where they fail.
    """
    bin_dir = Path(os.environ.get("METALSCOPE_KEYSTONE_VENV") or repo_root / ".venv-keystone") / "bin"
    if not (bin_dir / "keystone-manage").is_file():
        reason = (f"Keystone is not installed: {bin_dir / 'keystone-manage'} is missing "
                  "(run scripts/setup, or point METALSCOPE_KEYSTONE_VENV at a Keystone venv)")
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    local = LocalKeystone(tmp_path_factory.mktemp("keystone"), bin_dir,
                          schema_cache_dir=repo_root / ".work" / "keystone-schema")
    with local:
        yield local


@pytest.fixture(scope="session")
def upstream_bin(repo_root: Path) -> Path:
    """The bin folder of the environment that has ironic-inspector 12.5.0 (``.venv-ironic``,
    or ``METALSCOPE_IRONIC_VENV``). Without it the tests are skipped, except under CI."""
    venv = Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic")
    tool = venv / "bin" / "ironic-inspector-dbsync"
    if not tool.is_file():
        reason = f"ironic-inspector is not installed: {tool} is missing"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    return tool.parent
