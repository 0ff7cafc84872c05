"""``/metrics`` scraped with Prometheus' own text parser while a real MetalScope introspects
nodes of the real Ironic: the counters, histograms and the state gauge equal what happened.
Also the separate metrics listener of a running service, and the JSON log lines of a
callback (request id and node)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from metalscope.simulator import make_node as make_machine
from metalscope.simulator import ramdisk_data
from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope

pytestmark = pytest.mark.integration

SEED = 4242
#: Matches every node; counts as matched where the processing's rules all ran.
TAG_RULE = {"uuid": "7e000000-0000-4000-8000-000000000001", "description": "tag",
            "conditions": [{"op": "ge", "field": "memory_mb", "value": 1}],
            "actions": [{"action": "set-capability", "name": "scraped", "value": "yes"}]}
#: Only for nodes whose properties.inspection_scope is "doomed": fails them.
FAIL_RULE = {"uuid": "7e000000-0000-4000-8000-000000000002", "description": "doom",
             "scope": "doomed", "actions": [{"action": "fail", "message": "not wanted"}]}

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(url: str) -> Samples:
    response = httpx.get(f"{url}/metrics", timeout=30)
    assert response.status_code == 200, response.text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_state(api: httpx.Client, uuid: str, state: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while api.get(f"/v1/introspection/{uuid}").json()["state"] != state:
        assert time.monotonic() < deadline, f"{uuid} never reached {state}"
        time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def service(ironic: LocalIronic, tmp_path: Path) -> Iterator[LocalMetalScope]:
    """A service of its own: a fresh database, so every count starts at zero."""
    (tmp_path / "logs").mkdir()
    with LocalMetalScope(tmp_path / "service", ironic.url,
                         options={"DEFAULT": {"use_json": True,
                                              "log_dir": str(tmp_path / "logs")}}) as running:
        yield running


def test_counters_follow_an_introspection_run(service: LocalMetalScope, make_node: Any) -> None:
    """Four nodes: two finish, one is failed by a rule, one is aborted."""
    machines = [make_machine(seed=SEED, index=i, virtual=True) for i in range(4)]
    nodes = [make_node(macs=[m.pxe_mac],
                       properties={"inspection_scope": "doomed"} if i == 2 else None)
             for i, m in enumerate(machines)]
    with httpx.Client(base_url=service.url, timeout=60) as api:
        for rule in (TAG_RULE, FAIL_RULE):
            assert api.post("/v1/rules", json=rule).status_code == 201
        before = scrape(service.url)
        assert value(before, "metalscope_introspections_started_total") == 0
        assert value(before, "metalscope_build_info", version=_version(before),
                     python=_python(before), implementation=_implementation(before)) == 1
        for node in nodes:
            response = api.post(f"/v1/introspection/{node['uuid']}",
                                params={"manage_boot": "false"})
            assert response.status_code == 202, response.text
            wait_state(api, node["uuid"], "waiting")

        during = scrape(service.url)
        assert value(during, "metalscope_introspections_started_total") == 4
        assert value(during, "metalscope_introspections", state="waiting") == 4
        assert value(during, "metalscope_introspections_finished_total") == 0

        answers = [api.post("/v1/continue", json=ramdisk_data(m)) for m in machines[:3]]
        assert [a.status_code for a in answers] == [200, 200, 400]
        assert api.post(f"/v1/introspection/{nodes[3]['uuid']}/abort").status_code == 202
        for node in nodes[:2]:
            wait_state(api, node["uuid"], "finished")
        wait_state(api, nodes[2]["uuid"], "error")
        wait_state(api, nodes[3]["uuid"], "error")

    after = scrape(service.url)
    assert value(after, "metalscope_introspections_started_total") == 4
    assert value(after, "metalscope_introspections_finished_total") == 2
    assert value(after, "metalscope_introspections_failed_total", reason="rule") == 1
    assert value(after, "metalscope_introspections_failed_total", reason="aborted") == 1
    assert sum(v for (name, _), v in after.items()
               if name == "metalscope_introspections_failed_total") == 2
    assert value(after, "metalscope_introspections", state="finished") == 2
    assert value(after, "metalscope_introspections", state="error") == 2
    assert value(after, "metalscope_introspections", state="waiting") == 0
    assert value(after, "metalscope_callback_duration_seconds_count") == 3
    assert value(after, "metalscope_processing_duration_seconds_count") == 3
    # The failing rule stopped its processing before the matches were counted.
    assert value(after, "metalscope_rule_matches_total", rule=TAG_RULE["uuid"]) == 2
    assert value(after, "metalscope_rule_matches_total", rule=FAIL_RULE["uuid"]) == 0
    # Each callback read its node; each start read it too (by call name, never by URL).
    assert value(after, "metalscope_ironic_request_duration_seconds_count",
                 call="get_node") >= 7
    assert value(after, "metalscope_ironic_request_duration_seconds_count",
                 call="patch_node") >= 2
    assert not any("/" in dict(labels).get("call", "") for _, labels in after)
    assert value(after, "metalscope_database_transaction_retries_total") == 0
    _check_json_lines(service, nodes[0]["uuid"], answers[0].headers["X-OpenStack-Request-Id"])


def test_callback_latency_share(service: LocalMetalScope, make_node: Any) -> None:
    """Each callback is observed once in the own-share histogram and once per kind of wait,
    and its own share and waits add up to its duration (same clock, same bounds), whether
    it is answered 200 or refused (a MAC no introspection waits for)."""
    machines = [make_machine(seed=SEED + 1, index=i, virtual=True) for i in range(3)]
    nodes = [make_node(macs=[m.pxe_mac]) for m in machines[:2]]
    with httpx.Client(base_url=service.url, timeout=60) as api:
        for node in nodes:
            assert api.post(f"/v1/introspection/{node['uuid']}",
                            params={"manage_boot": "false"}).status_code == 202
            wait_state(api, node["uuid"], "waiting")
        before = scrape(service.url)
        assert value(before, "metalscope_callback_own_seconds_count") == 0
        answers = [api.post("/v1/continue", json=ramdisk_data(m)) for m in machines]
        assert [a.status_code for a in answers] == [200, 200, 400]
        for node in nodes:
            wait_state(api, node["uuid"], "finished")
    after = scrape(service.url)
    count = value(after, "metalscope_callback_duration_seconds_count")
    assert count == 3
    assert value(after, "metalscope_callback_own_seconds_count") == count
    assert value(after, "metalscope_callback_own_seconds_bucket", le="+Inf") == count
    for kind in ("ironic", "database"):
        assert value(after, "metalscope_callback_wait_seconds_count", on=kind) == count
        # Both answered callbacks read their node from Ironic and wrote to the database.
        assert value(after, "metalscope_callback_wait_seconds_sum", on=kind) > 0
    own = value(after, "metalscope_callback_own_seconds_sum")
    waits = sum(value(after, "metalscope_callback_wait_seconds_sum", on=kind)
                for kind in ("ironic", "database"))
    total = value(after, "metalscope_callback_duration_seconds_sum")
    assert own > 0
    assert own + waits == pytest.approx(total, rel=1e-6, abs=1e-6)
    # The background finishing step of each answered callback is accounted on its own.
    assert value(after, "metalscope_finish_own_seconds_count") == 2
    assert value(after, "metalscope_finish_wait_seconds_sum", on="database") > 0


def _check_json_lines(service: LocalMetalScope, uuid: str, request_id: str) -> None:
    """Every log line is one JSON object; the lines logged while the callback of ``uuid``
    was processed carry its request id (``context``) and the node (``extra``)."""
    documents = [json.loads(line) for line in service.log_file.read_text().splitlines()
                 if line.strip()]
    of_callback = [d for d in documents if d["context"].get("request_id") == request_id]
    assert of_callback, "no JSON line with the callback's request id"
    assert any(d["extra"].get("node") == uuid for d in of_callback)
    rules = [d for d in of_callback if d["message"].startswith("Rules matching this node")]
    assert rules and all(d["extra"] == {"node": uuid} for d in rules)


def _label(samples: Samples, key: str) -> str:
    return next(dict(labels)[key] for (name, labels) in samples
                if name == "metalscope_build_info")


def _version(samples: Samples) -> str:
    return _label(samples, "version")


def _python(samples: Samples) -> str:
    return _label(samples, "python")


def _implementation(samples: Samples) -> str:
    return _label(samples, "implementation")


def test_separate_listener(ironic: LocalIronic, tmp_path: Path) -> None:
    """``[metrics]port``: the metrics are served there without authentication, and the
    API's listener (http_basic here) answers 404 for /metrics even with a user."""
    port = free_port()
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(f"admin:{bcrypt.hashpw(b'secret', bcrypt.gensalt(rounds=4)).decode()}\n")
    options = {"metrics": {"port": port, "host": "127.0.0.1"},
               "DEFAULT": {"auth_strategy": "http_basic", "http_basic_auth_user_file": htpasswd}}
    with LocalMetalScope(tmp_path / "service", ironic.url, options=options) as service:
        samples = scrape(f"http://127.0.0.1:{port}")
        assert value(samples, "metalscope_introspections_started_total") == 0
        assert ("metalscope_introspections", (("state", "waiting"),)) in samples
        assert httpx.get(f"{service.url}/metrics", timeout=30).status_code == 401
        with_user = httpx.get(f"{service.url}/metrics", auth=("admin", "secret"), timeout=30)
        assert with_user.status_code == 404
