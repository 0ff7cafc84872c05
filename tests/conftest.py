"""Fixtures shared by every tier (unit, integration, compat).

``ironic``, ``metalscope``, ``mac_factory`` and ``make_node`` live here rather than in a tier's
conftest so that the integration and compat tiers share one Ironic and one MetalScope process
per test session. They start only when a test asks for them.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

REPO_ROOT = Path(__file__).resolve().parent.parent

NodeFactory = Callable[..., dict[str, Any]]


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _ironic_venv(repo_root: Path) -> Path:
    return Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic")


@pytest.fixture
async def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    """A repository over a fresh, migrated SQLite database."""
    url = f"sqlite:///{tmp_path / 'ms.sqlite'}"
    migrate.upgrade(url)
    repository = Repository(create_engine(url))
    yield repository
    await repository.engine.dispose()


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The checkout's top folder."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def ironic(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalIronic]:
    """One real Ironic (fake hardware, no auth) for the whole session.

    Its virtual environment comes from ``METALSCOPE_IRONIC_VENV`` (default ``.venv-ironic``).
    Without it the tests that need Ironic are skipped, except under CI, where they fail.
    """
    bin_dir = _ironic_venv(repo_root) / "bin"
    if not (bin_dir / "ironic").is_file():
        reason = (f"Ironic is not installed: {bin_dir / 'ironic'} is missing "
                  "(run scripts/setup, or point METALSCOPE_IRONIC_VENV at an Ironic venv)")
        if _running_in_ci():
            pytest.fail(f"{reason}; CI is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    local = LocalIronic(tmp_path_factory.mktemp("ironic"), bin_dir,
                        schema_cache_dir=repo_root / ".work" / "ironic-schema")
    with local:
        yield local


@pytest.fixture(scope="session")
def metalscope(ironic: LocalIronic,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """One ``metalscope serve`` process (noauth, SQLite, store_data=database, noop PXE filter)
    talking to the session's Ironic, for the integration and compat tiers."""
    service = LocalMetalScope(tmp_path_factory.mktemp("metalscope"), ironic.url)
    with service:
        yield service


@pytest.fixture(scope="session")
def mac_factory() -> Callable[[], str]:
    """Unique locally administered MAC addresses (unique across xdist-less reruns too)."""
    counter = itertools.count(1)
    prefix = os.getpid() & 0xFFFF

    def make() -> str:
        value = (0x02 << 40) | (prefix << 24) | next(counter)
        return ":".join(f"{(value >> shift) & 0xFF:02x}" for shift in range(40, -8, -8))
    return make


@pytest.fixture
def make_node(ironic: LocalIronic, mac_factory: Callable[[], str]) -> Iterator[NodeFactory]:
    """Enroll ``fake-hardware`` nodes (with fresh MACs unless given); deleted after the test."""
    created: list[str] = []

    def make(name: str | None = None, driver_info: dict[str, Any] | None = None,
             macs: list[str] | None = None, port_count: int = 1, **kwargs: Any) -> dict[str, Any]:
        if macs is None:
            macs = [mac_factory() for _ in range(port_count)]
        node = ironic.enroll_node(name, driver_info or {}, macs, **kwargs)
        created.append(node["uuid"])
        return node

    yield make
    for uuid in created:
        ironic.delete_node(uuid)
