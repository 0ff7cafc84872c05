"""API 1.19 beside the clients of 1.0-1.18: a running MetalScope answers the new paths below
1.19 exactly as it answers an unknown path, and the real clients still negotiate."""

from __future__ import annotations

from typing import Any

import httpx
import ironic_inspector_client
import pytest
from keystoneauth1 import session as ks_session
from openstack import connection

from metalscope.testing.service import LocalMetalScope

pytestmark = [pytest.mark.compat,
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]

NODE = "c0ffee00-0000-4000-8000-000000000019"
NEW_PATHS = ("/history", "/history/1", "/history/1/unprocessed", "/diff")
VERSION = "X-OpenStack-Ironic-Inspector-API-Version"


def answer(response: httpx.Response) -> tuple[int, bytes, str | None]:
    return response.status_code, response.content, response.headers.get("allow")


@pytest.mark.parametrize("path", NEW_PATHS)
@pytest.mark.parametrize("method", ["GET", "HEAD", "POST", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("headers", [{VERSION: "1.18"}, {VERSION: "1.0"},
                                     {"OpenStack-API-Version": "baremetal-introspection 1.5"}])
def test_raw_requests_below_119_get_the_unknown_path_answer(
        metalscope: LocalMetalScope, path: str, method: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=metalscope.url, timeout=30) as http:
        new = http.request(method, f"/v1/introspection/{NODE}{path}", headers=headers)
        unknown = http.request(method, f"/v1/introspection/{NODE}/no-such-thing",
                               headers=headers)
    assert answer(new) == answer(unknown)
    assert new.status_code == 404
    assert new.headers["X-OpenStack-Ironic-Inspector-API-Maximum-Version"] == "1.20"


def test_at_119_the_paths_exist(metalscope: LocalMetalScope) -> None:
    with httpx.Client(base_url=metalscope.url, timeout=30) as http:
        response = http.get(f"/v1/introspection/{NODE}/history", headers={VERSION: "1.19"})
    assert response.status_code == 404
    assert response.json() == {"error": {"message": f"Could not find node {NODE} in cache"}}


def test_inspector_client_at_its_maximum(metalscope: LocalMetalScope,
                                         keystone_session: ks_session.Session) -> None:
    """python-ironic-inspector-client negotiates its own maximum (1.13) and works."""
    client = ironic_inspector_client.ClientV1(
        inspector_url=metalscope.url, session=keystone_session,
        api_version=ironic_inspector_client.MAX_API_VERSION)
    assert client.server_api_versions() == ((1, 0), (1, 20))
    assert isinstance(client.list_statuses(), list)


def test_openstacksdk_lists(sdk: connection.Connection) -> None:
    """openstacksdk's introspection proxy still lists (its version negotiation included)."""
    found: list[Any] = list(sdk.baremetal_introspection.introspections())
    assert isinstance(found, list)
