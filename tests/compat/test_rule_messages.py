"""Invalid rules posted to upstream ironic-inspector 12.5.0 and to MetalScope get the same
400 answers, word for word: the JSON-schema detail of conditions and actions (problem,
failed keyword and its place in the schema, offending value), the field checks and the
operator and action parameter checks. Where MetalScope answers differently on purpose, the
difference is listed with its reason and both answers are checked."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from metalscope.testing.ironic import LocalIronic
from metalscope.testing.service import LocalMetalScope
from metalscope.testing.upstream import LocalUpstreamInspector

pytestmark = pytest.mark.compat

HEADERS = {"X-OpenStack-Ironic-Inspector-API-Version": "1.18"}
FAIL = [{"action": "fail", "message": "boom"}]
OK_CONDITION = {"op": "eq", "field": "memory_mb", "value": 1}


def conditions(*items: Any) -> dict[str, Any]:
    return {"conditions": list(items), "actions": FAIL}


def actions(*items: Any) -> dict[str, Any]:
    return {"conditions": [], "actions": list(items)}


#: (case, body): every body is invalid for both services.
SAME_ANSWER: list[tuple[str, Any]] = [
    ("conditions-object", {"conditions": {}, "actions": FAIL}),
    ("conditions-string", {"conditions": "eq", "actions": FAIL}),
    ("condition-not-object", conditions("eq")),
    ("condition-without-op", conditions({"field": "a", "value": 1})),
    ("condition-without-anything", conditions({})),
    ("condition-without-field", conditions({"op": "eq", "value": 1})),
    ("unknown-operator", conditions({"op": "foo", "field": "a", "value": 1})),
    ("operator-list", conditions({"op": ["eq"], "field": "a"})),
    ("field-number", conditions({"op": "eq", "field": 5, "value": 1})),
    ("multiple-unknown", conditions({**OK_CONDITION, "multiple": "some"})),
    ("multiple-null", conditions({**OK_CONDITION, "multiple": None})),
    ("invert-string", conditions({**OK_CONDITION, "invert": "yes"})),
    ("invert-number", conditions({**OK_CONDITION, "invert": 1})),
    ("second-condition-bad", conditions(OK_CONDITION, {"op": "eq", "field": 5, "value": 1})),
    ("shallower-error-wins", conditions({"op": "bad", "field": "a"}, {"op": "eq"})),
    ("later-sibling-wins", conditions({"op": "bad1", "field": "a"},
                                      {"op": "bad2", "field": "a"})),
    ("long-value-shown", conditions({"op": "eq", "field": "a" * 30, "value": 1,
                                     "multiple": ["x" * 40, "y" * 40]})),
    ("actions-object", {"conditions": [], "actions": {}}),
    ("actions-empty", actions()),
    ("actions-missing", {"conditions": [OK_CONDITION]}),
    ("action-not-object", actions(1)),
    ("action-without-name", actions({"message": "boom"})),
    ("unknown-action", actions({"action": "explode"})),
    ("second-action-unknown", actions(FAIL[0], {"action": "explode"})),
    ("unsupported-scheme", conditions({"op": "eq", "field": "http://a", "value": 1})),
    ("bad-json-path", conditions({"op": "eq", "field": "data://a b", "value": 1})),
    ("eq-without-value", conditions({"op": "eq", "field": "a"})),
    ("lt-null-value", conditions({"op": "lt", "field": "a", "value": None})),
    ("gt-unexpected", conditions({"op": "gt", "field": "a", "value": 1, "foo": 2})),
    ("ne-missing-and-unexpected", conditions({"op": "ne", "field": "a", "foo": 2})),
    ("in-net-bad-network", conditions({"op": "in-net", "field": "a", "value": "10.0.0.0/33"})),
    ("matches-bad-regex", conditions({"op": "matches", "field": "a", "value": "(x"})),
    ("is-empty-with-value", conditions({"op": "is-empty", "field": "a", "value": ""})),
    ("fail-without-message", actions({"action": "fail"})),
    ("fail-null-message", actions({"action": "fail", "message": None})),
    ("set-attribute-without-value", actions({"action": "set-attribute", "path": "/a"})),
    ("set-attribute-without-path", actions({"action": "set-attribute", "value": 1})),
    ("set-capability-wrong", actions({"action": "set-capability", "value": 1, "x": 2})),
    ("extend-attribute-without-value", actions({"action": "extend-attribute", "path": "/a"})),
    ("add-trait-without-name", actions({"action": "add-trait"})),
    ("remove-trait-unexpected", actions({"action": "remove-trait", "name": "T", "force": 1})),
    ("conditions-before-actions", {"conditions": [{"op": "eq", "field": "a"}],
                                   "actions": []}),
    ("invalid-uuid", {"uuid": "foo", "actions": FAIL}),
    ("scope-too-long", {"scope": "s" * 256, "actions": FAIL}),
]

#: (case, body, upstream's answer, MetalScope's answer, why they differ). An answer is
#: (status, start of the message); None: the rule is created.
DIFFERENT_ANSWER: list[tuple[str, Any, Any, Any, str]] = [
    ("null-conditions", {"conditions": None, "actions": FAIL},
     (400, "Validation failed for conditions: None is not of type 'array'\n\n"), None,
     "MetalScope reads a null list as an absent one (an empty list of conditions)"),
    ("null-actions", {"actions": None},
     (400, "Validation failed for actions: None is not of type 'array'\n\n"),
     (400, "Validation failed for actions: [] should be non-empty\n\n"),
     "MetalScope reads a null list as an absent one, which is then too short"),
    ("matches-without-value", conditions({"op": "matches", "field": "a"}),
     (500, ""), (400, "Invalid parameters for operator matches: missing required "
                      "parameter(s): value"),
     "upstream crashes (quirk, spec 7.6); MetalScope applies the generic check"),
    ("body-not-object", [], (500, ""), (400, "Invalid data: expected a JSON object, got list"),
     "upstream crashes (quirk Q-API-4)"),
    ("scope-not-text", {"scope": 12, "actions": FAIL}, (500, ""),
     (400, "Invalid scope: expected a string"), "upstream crashes on len(12)"),
    ("set-attribute-path-number", actions({"action": "set-attribute", "path": 7, "value": 1}),
     None, (400, "Invalid parameters for action set-attribute: invalid value for path: 7"),
     "MetalScope refuses a path it could not apply; upstream fails at processing time"),
]


def ironic_bin_dir() -> Path:
    venv = os.environ.get("METALSCOPE_IRONIC_VENV") or Path(__file__).parents[2] / ".venv-ironic"
    return Path(venv) / "bin"


@pytest.fixture(scope="module")
def upstream(ironic: LocalIronic,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalUpstreamInspector]:
    bin_dir = ironic_bin_dir()
    if not (bin_dir / "ironic-inspector").is_file():
        reason = f"upstream ironic-inspector is not installed in {bin_dir}"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    with LocalUpstreamInspector(tmp_path_factory.mktemp("upstream"), ironic.url,
                                bin_dir) as service:
        yield service


@pytest.fixture(scope="module")
def own(ironic: LocalIronic,
        tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalMetalScope]:
    """A MetalScope of its own: a body it accepted would create a rule."""
    with LocalMetalScope(tmp_path_factory.mktemp("metalscope-rules"), ironic.url) as service:
        yield service


def answer(url: str, body: Any) -> tuple[int, str] | None:
    """(status, error message) of POST /v1/rules, or None when the rule was created (and it
    is deleted again)."""
    response = httpx.post(f"{url}/v1/rules", json=body, headers=HEADERS, timeout=30)
    if response.status_code in (200, 201):
        httpx.delete(f"{url}/v1/rules/{response.json()['uuid']}", timeout=30)
        return None
    try:
        message = response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = ""
    return response.status_code, message


@pytest.mark.parametrize(("case", "body"), SAME_ANSWER, ids=[c for c, _ in SAME_ANSWER])
def test_same_answer(upstream: LocalUpstreamInspector, own: LocalMetalScope, case: str,
                     body: Any) -> None:
    """Upstream's status and message, character for character."""
    expected = answer(upstream.url, body)
    assert expected is not None and expected[0] == 400, expected
    assert answer(own.url, body) == expected


def test_schema_detail_is_multi_line(upstream: LocalUpstreamInspector,
                                     own: LocalMetalScope) -> None:
    """The comparison above is about the full text: upstream's carries the schema keyword,
    its place in the schema and the value (guards against comparing first lines only)."""
    result = answer(own.url, conditions({"op": "foo", "field": "a", "value": 1}))
    assert result is not None
    assert "\n\nFailed validating 'enum' in schema['items']['properties']['op']:\n" in result[1]
    assert result[1].endswith("\n\nOn instance[0]['op']:\n    'foo'")


def test_several_unexpected_parameters(upstream: LocalUpstreamInspector,
                                       own: LocalMetalScope) -> None:
    """Upstream lists several unexpected parameters in set order (which varies from run to
    run); MetalScope sorts them. The same names either way."""
    body = conditions({"op": "gt", "field": "a", "value": 1, "foo": 2, "bar": 3})
    prefix = "Invalid parameters for operator gt: unexpected parameter(s): "
    theirs, ours = answer(upstream.url, body), answer(own.url, body)
    assert theirs is not None and ours == (400, prefix + "bar, foo")
    assert theirs[0] == 400 and theirs[1].startswith(prefix)
    assert sorted(theirs[1][len(prefix):].split(", ")) == ["bar", "foo"]


@pytest.mark.parametrize(("case", "body", "theirs", "ours", "why"), DIFFERENT_ANSWER,
                         ids=[c[0] for c in DIFFERENT_ANSWER])
def test_documented_difference(upstream: LocalUpstreamInspector, own: LocalMetalScope,
                               case: str, body: Any, theirs: Any, ours: Any, why: str) -> None:
    """Each listed difference is real, and MetalScope answers as listed."""
    for url, expected in ((upstream.url, theirs), (own.url, ours)):
        result = answer(url, body)
        if expected is None:
            assert result is None, (url, result)
        else:
            assert result is not None and result[0] == expected[0], (url, result)
            assert result[1].startswith(expected[1]), (url, result)


def test_schema_errors_match_jsonschema(repo_root: Path) -> None:
    """The schema errors MetalScope writes are the ones jsonschema (upstream's validator,
    from the Ironic virtual environment) gives, for thousands of random condition and action
    lists: same error picked among several, same text."""
    python = ironic_bin_dir() / "python"
    if not python.is_file():
        pytest.skip(f"no Python in {python.parent}")
    script = Path(__file__).with_name("rule_schema_reference.py")
    result = subprocess.run([str(python), str(script), "11", "1500"], capture_output=True,
                            text=True, timeout=300,
                            env={**os.environ, "PYTHONPATH": str(repo_root)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["differences"] == []
    assert report["checked"] == 3000 and report["invalid"] > 2000
