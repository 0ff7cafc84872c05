"""Compat fixtures: the real clients, built the way operators build them, and a MetalScope with
the LLDP hooks enabled.

``ironic``, ``metalscope``, ``mac_factory`` and ``make_node`` come from ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import ironic_inspector_client
import pytest
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session
from openstack import connection

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

# The default hooks plus the two that turn LLDP TLVs into switch facts (inspector.md 5.4).
LLDP_HOOKS = ("ramdisk_error,root_disk_selection,scheduler,validate_interfaces,capabilities,"
              "pci_devices,lldp_basic,local_link_connection")


@pytest.fixture(scope="session")
def lldp_metalscope(ironic: LocalIronic,
                    tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """A second ``metalscope serve`` like ``metalscope`` but with ``lldp_basic`` and
    ``local_link_connection`` enabled, for the client's interface commands."""
    service = LocalMetalScope(tmp_path_factory.mktemp("metalscope-lldp"), ironic.url,
                              options={"processing": {"processing_hooks": LLDP_HOOKS}})
    with service:
        yield service


@pytest.fixture
def keystone_session() -> ks_session.Session:
    """A keystoneauth session without authentication, as used against a noauth inspector."""
    return ks_session.Session(auth=noauth.NoAuth())


@pytest.fixture
def inspector(metalscope: LocalMetalScope,
              keystone_session: ks_session.Session) -> ironic_inspector_client.ClientV1:
    """python-ironic-inspector-client with its defaults (API 1.0), pointed at MetalScope."""
    return ironic_inspector_client.ClientV1(inspector_url=metalscope.url, session=keystone_session)


def _delete_all_rules(base_url: str) -> None:
    httpx.delete(f"{base_url}/v1/rules", timeout=30).raise_for_status()


@pytest.fixture
def no_rules(metalscope: LocalMetalScope) -> Iterator[None]:
    """Rules apply to every introspection of the shared service: start and end with none."""
    _delete_all_rules(metalscope.url)
    yield
    _delete_all_rules(metalscope.url)


@pytest.fixture
def sdk(metalscope: LocalMetalScope) -> Iterator[connection.Connection]:
    """An openstacksdk connection without authentication whose baremetal-introspection
    endpoint is MetalScope (no clouds.yaml, no environment variables)."""
    conn = connection.Connection(auth_type="none",
                                 baremetal_introspection_endpoint_override=metalscope.url)
    yield conn
    conn.close()
