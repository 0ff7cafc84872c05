"""Integration fixtures: an IronicClient on the session's real Ironic; a real Keystone; a real
Swift; the virtual environment of an Ironic 32.x (the last series with the ``inspector``
inspect interface).

The ``ironic``, ``mac_factory`` and ``make_node`` fixtures are in ``tests/conftest.py`` so the
compat tier shares them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from metalscope.ironic_client import IronicClient
from metalscope.settings import Settings, load_settings
from metalscope.testing.ironic import LocalIronic, ironic_release
from metalscope.testing.keystone import LocalKeystone
from metalscope.testing.redfish import FakeDrive, FakeSystem, LocalRedfishEmulator
from metalscope.testing.redfish_ironic import redfish_ironic_options
from metalscope.testing.swift import LocalSwift

#: The release series of Ironic that still has the ``inspector`` inspect interface.
INSPECTOR_INTERFACE_SERIES = "32."


def _skip_or_fail(reason: str) -> None:
    """Skip the test, except under CI, where a missing component is an error."""
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
    pytest.skip(reason)


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
def redfish_ironic(tmp_path_factory: pytest.TempPathFactory,
                   repo_root: Path) -> Iterator[LocalIronic]:
    """A real Ironic with the ``redfish`` hardware type enabled and a policy that shows BMC
    passwords (``metalscope/testing/redfish_ironic.py``), for the out-of-band tests only: the
    session's ``ironic`` stays as it is. Same virtual environment as ``ironic`` (its sushy is
    what talks to the emulated BMCs)."""
    bin_dir = Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic") / "bin"
    if not (bin_dir / "ironic").is_file():
        _skip_or_fail(f"Ironic is not installed: {bin_dir / 'ironic'} is missing "
                      "(run scripts/setup, or point METALSCOPE_IRONIC_VENV at an Ironic venv)")
    workdir = tmp_path_factory.mktemp("redfish-ironic")
    local = LocalIronic(workdir, bin_dir,
                        schema_cache_dir=repo_root / ".work" / "ironic-schema",
                        options=redfish_ironic_options(workdir))
    with local:
        yield local


def emulated_systems(count: int, first: int = 1) -> list[FakeSystem]:
    """``count`` systems with two NICs and two drives (100 and 480 GB) each."""
    return [FakeSystem(
        uuid=f"5eb1f15e-0000-4000-8000-{n:012x}", name=f"bmc-{n}",
        nics={f"52:54:00:5e:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}": f"192.0.2.{n % 250 + 1}",
              f"52:54:01:5e:{n >> 8 & 0xFF:02x}:{n & 0xFF:02x}": f"198.51.100.{n % 250 + 1}"},
        drives=(FakeDrive("d0", 100 * 10**9), FakeDrive("d1", 480 * 10**9)))
        for n in range(first, first + count)]


@pytest.fixture(scope="session")
def emulated_bmcs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRedfishEmulator]:
    """One sushy-emulator (fake driver, basic authentication) serving eight systems."""
    emulator = Path(sys.executable).parent / "sushy-emulator"
    if not emulator.is_file():
        _skip_or_fail(f"sushy-emulator is not installed: {emulator} is missing "
                      "(install MetalScope's test extras)")
    with LocalRedfishEmulator(tmp_path_factory.mktemp("bmcs"), emulated_systems(8)) as bmcs:
        yield bmcs


@pytest.fixture(scope="session")
def keystone(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalKeystone]:
    """One real Keystone (SQLite, fernet tokens, bootstrap admin) for the whole session.

    Its virtual environment comes from ``METALSCOPE_KEYSTONE_VENV`` (default
    ``.venv-keystone``). Without it the tests that need Keystone are skipped, except under CI,
    where they fail.
    """
    venv = os.environ.get("METALSCOPE_KEYSTONE_VENV") or repo_root / ".venv-keystone"
    bin_dir = Path(venv) / "bin"
    if not (bin_dir / "keystone-manage").is_file():
        _skip_or_fail(f"Keystone is not installed: {bin_dir / 'keystone-manage'} is missing "
                      "(run scripts/setup, or point METALSCOPE_KEYSTONE_VENV at a Keystone venv)")
    local = LocalKeystone(tmp_path_factory.mktemp("keystone"), bin_dir,
                          schema_cache_dir=repo_root / ".work" / "keystone-schema")
    with local:
        yield local


@pytest.fixture(scope="session")
def swift(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSwift]:
    """One real Swift (account, container and object servers, a proxy without
    authentication) for the whole session.

    Its virtual environment comes from ``METALSCOPE_SWIFT_VENV`` (default ``.venv-swift``).
    Without it the tests that need Swift are skipped, except under CI, where they fail.
    """
    venv = os.environ.get("METALSCOPE_SWIFT_VENV") or repo_root / ".venv-swift"
    bin_dir = Path(venv) / "bin"
    if not (bin_dir / "swift-proxy-server").is_file():
        _skip_or_fail(f"Swift is not installed: {bin_dir / 'swift-proxy-server'} is missing "
                      "(run scripts/setup, or point METALSCOPE_SWIFT_VENV at a Swift venv)")
    with LocalSwift(tmp_path_factory.mktemp("swift"), bin_dir) as local:
        yield local


@pytest.fixture(scope="session")
def upstream_bin(repo_root: Path) -> Path:
    """The bin folder of the environment that has ironic-inspector 12.5.0 (``.venv-ironic``,
    or ``METALSCOPE_IRONIC_VENV``). Without it the tests are skipped, except under CI."""
    venv = Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic")
    tool = venv / "bin" / "ironic-inspector-dbsync"
    if not tool.is_file():
        _skip_or_fail(f"ironic-inspector is not installed: {tool} is missing")
    return tool.parent


@pytest.fixture(scope="session")
def ironic32_bin_dir(repo_root: Path) -> Path:
    """The ``bin`` folder of an Ironic 32.x virtual environment.

    It comes from ``METALSCOPE_IRONIC32_VENV`` (default ``.venv-ironic32``, made by
    scripts/setup). Without it the tests that need it are skipped, except under CI, where
    they fail.
    """
    venv = Path(os.environ.get("METALSCOPE_IRONIC32_VENV") or repo_root / ".venv-ironic32")
    bin_dir = venv / "bin"
    release = ironic_release(bin_dir) if (bin_dir / "ironic").is_file() else None
    if release is None or not release.startswith(INSPECTOR_INTERFACE_SERIES):
        _skip_or_fail(f"Ironic {INSPECTOR_INTERFACE_SERIES}x is not installed in {venv} (found "
                      f"{release or 'none'}; run scripts/setup, or point "
                      "METALSCOPE_IRONIC32_VENV at such a venv)")
    return bin_dir
