"""Fixtures shared by every tier (unit, integration, compat).

``ironic`` lives here rather than in a tier's conftest so that the integration and compat
tiers share one Ironic process per test session. It starts only when a test asks for it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

REPO_ROOT = Path(__file__).resolve().parent.parent


def _running_in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _ironic_venv(repo_root: Path) -> Path:
    return Path(os.environ.get("METALSCOPE_IRONIC_VENV") or repo_root / ".venv-ironic")


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
def metalscope(ironic: LocalIronic, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """One ``metalscope serve`` process (noauth, SQLite, store_data=database, noop PXE filter)
    talking to the session's Ironic, for the integration and compat tiers."""
    service = LocalMetalScope(tmp_path_factory.mktemp("metalscope"), ironic.url)
    with service:
        yield service
