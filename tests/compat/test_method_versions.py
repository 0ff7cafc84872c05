"""API 1.20 (the introspection ``method``) beside the clients of 1.0-1.19: below 1.20 the
``method`` query parameter is ignored (as upstream ignores unknown query parameters) and
statuses keep their exact keys; both real clients still negotiate and read statuses."""

from __future__ import annotations

from typing import Any

import httpx
import ironic_inspector_client
import pytest
from keystoneauth1 import session as ks_session
from openstack import connection

from metalscope.testing.service import LocalMetalScope
from tests.conftest import NodeFactory

pytestmark = [pytest.mark.compat,
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK50Warning"),
              pytest.mark.filterwarnings("ignore::openstack.warnings.RemovedInSDK60Warning")]

VERSION = "X-OpenStack-Ironic-Inspector-API-Version"
UPSTREAM_KEYS = {"error", "finished", "finished_at", "links", "started_at", "state", "uuid"}


def start(http: httpx.Client, uuid: str, version: str, method: str) -> httpx.Response:
    return http.post(f"/v1/introspection/{uuid}", params={"manage_boot": "false",
                                                          "method": method},
                     headers={VERSION: version})


def test_method_ignored_below_120_and_checked_from_120(metalscope: LocalMetalScope,
                                                        make_node: NodeFactory) -> None:
    node = make_node()
    with httpx.Client(base_url=metalscope.url, timeout=30) as http:
        refused = start(http, node["uuid"], "1.20", "ipmi")
        ignored = start(http, node["uuid"], "1.19", "ipmi")
        old = http.get(f"/v1/introspection/{node['uuid']}", headers={VERSION: "1.19"})
        new = http.get(f"/v1/introspection/{node['uuid']}", headers={VERSION: "1.20"})
        listed = http.get("/v1/introspection", headers={VERSION: "1.20"})
        http.post(f"/v1/introspection/{node['uuid']}/abort")
    assert refused.status_code == 400
    assert "ipmi" in refused.json()["error"]["message"]
    assert ignored.status_code == 202 and ignored.content == b"{}\n"
    assert set(old.json()) == UPSTREAM_KEYS
    assert set(new.json()) == UPSTREAM_KEYS | {"method"} and new.json()["method"] == "inband"
    assert all(s["method"] in ("inband", "redfish") for s in listed.json()["introspection"])


def test_inspector_client_reads_statuses(metalscope: LocalMetalScope,
                                         keystone_session: ks_session.Session) -> None:
    """python-ironic-inspector-client negotiates its own maximum and works."""
    client = ironic_inspector_client.ClientV1(
        inspector_url=metalscope.url, session=keystone_session,
        api_version=ironic_inspector_client.MAX_API_VERSION)
    assert client.server_api_versions() == ((1, 0), (1, 20))
    assert all(set(s) >= UPSTREAM_KEYS for s in client.list_statuses())


def test_openstacksdk_reads_statuses(sdk: connection.Connection) -> None:
    """openstacksdk negotiates the highest version it knows and lists statuses."""
    found: list[Any] = list(sdk.baremetal_introspection.introspections())
    assert all(item.id for item in found)
