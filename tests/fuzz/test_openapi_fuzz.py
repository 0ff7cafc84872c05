"""Schemathesis against a running MetalScope, driven by its own OpenAPI document.

Every operation of the document gets schema examples, the coverage phase (boundary and
invalid values of each parameter and body) and a bounded number of random cases, valid and
invalid, with a fixed seed: the same requests on every run. Path parameters, the list
marker and the MACs in ramdisk data are often drawn from the seeded nodes and rules, so
requests get past "not found" into the code behind. Each answer must not be a 5xx, and its
status code, Content-Type, headers and body must be the ones the document gives.
"""

from __future__ import annotations

import copy
from typing import Any

import httpx
import hypothesis
import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from metalscope.api.openapi import build_document
from metalscope.app import create_app
from metalscope.settings import load_settings
from metalscope.testing.service import LocalMetalScope
from tests.fuzz.conftest import HISTORY_VERSIONS, MACS, NODES, RULE_UUIDS, restore

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]
#: Random cases per operation in the fuzzing phase (the examples and coverage phases add
#: their own, bounded by the schema); the whole module takes about a minute on 2 cores.
MAX_EXAMPLES = 50
SEED = 20261129


def fuzz_config() -> schemathesis.Config:
    node_ids = [value for node in NODES for value in (node.uuid, node.name)]
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["all"],
        "request-timeout": 60,
        "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True,
                       "database": "none"},
        "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
                   "fuzzing": {"enabled": True}, "stateful": {"enabled": True, "max-steps": 6}},
        "dictionaries": {"nodes": {"values": node_ids}, "rules": {"values": list(RULE_UUIDS)},
                         "macs": {"values": list(MACS)},
                         "versions": {"values": list(HISTORY_VERSIONS)}},
        "parameters": {
            "path.node_id": {"dictionary": "nodes", "probability": 0.6},
            "query.marker": {"dictionary": "nodes", "probability": 0.3},
            "path.uuid": {"dictionary": "rules", "probability": 0.5},
            "path.version": {"dictionary": "versions", "probability": 0.6},
            "query.from": {"dictionary": "versions", "probability": 0.5},
            "query.to": {"dictionary": "versions", "probability": 0.5},
            "body.inventory.interfaces[*].mac_address": {"dictionary": "macs",
                                                         "probability": 0.7},
        },
    })


# The document is the one the service serves (test_served_document_is_the_app_document);
# building it in-process lets pytest list one test per operation before anything runs.
DOCUMENT = build_document(create_app(load_settings(overrides={})))
schema = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT), config=fuzz_config())


@pytest.fixture(scope="module")
def http(fuzz_target: LocalMetalScope) -> Any:
    with requests.Session() as session:
        yield session


def test_served_document_is_the_app_document(fuzz_target: LocalMetalScope) -> None:
    """``GET /openapi.json`` serves exactly the document this module fuzzes with."""
    response = requests.get(f"{fuzz_target.url}/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.json() == DOCUMENT


@schema.parametrize()
def test_operation(case: schemathesis.Case, fuzz_target: LocalMetalScope, http: Any,
                   service_log: Any) -> None:
    """No 5xx; status, Content-Type, headers and body as documented."""
    case.call_and_validate(base_url=fuzz_target.url, session=http, checks=CHECKS)


APIWorkflow = schema.as_state_machine()


def test_stateful(fuzz_target: LocalMetalScope, service_log: Any) -> None:
    """Sequences that follow the document's links (create a rule, then read or delete it).

    Each sequence starts from the seeded state: which links the fuzzer can follow depends on
    earlier answers, and Hypothesis requires the same draws to lead to the same choices.
    """
    class Workflow(APIWorkflow):  # type: ignore[misc,valid-type]
        def setup(self) -> None:
            with httpx.Client(base_url=fuzz_target.url, timeout=60) as api:
                restore(api)

        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, Any]:
            return {"base_url": fuzz_target.url}

        def validate_response(self, response: Any, case: schemathesis.Case,
                              additional_checks: Any = (), **kwargs: Any) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None,
                                   recorder=self.recorder)

    Workflow.run(settings=hypothesis.settings(max_examples=25, stateful_step_count=6,
                                              derandomize=True, database=None, deadline=None,
                                              suppress_health_check=list(hypothesis.HealthCheck)))
