"""``metalscope rules``: export, import, convert and the dry run, on a temporary SQLite."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from metalscope.cli import main
from metalscope.extensions import ExtensionRegistry
from metalscope.ironic_client import IronicClient
from metalscope.node_changes import NodeChanges
from metalscope.rules.dry_run import dry_run, dry_run_document
from metalscope.rules.validation import parse_rule
from metalscope.settings import load_settings
from metalscope.storage import migrate
from metalscope.storage.engine import create_engine
from metalscope.storage.repository import Repository
from tests.fakes import FakeIronic

UUID_A = "0f5ad2c6-2c5e-4f0c-b0b8-7e77e1d3f2a1"
UUID_B = "6a1c1e9e-7d2b-4a43-9a43-1b6d6f0f7c21"

BIG_MEMORY = {
    "uuid": UUID_A, "description": "Tag big-memory machines", "scope": None,
    "conditions": [{"op": "ge", "field": "memory_mb", "value": 65536, "multiple": "any",
                    "invert": False}],
    "actions": [{"action": "add-trait", "name": "CUSTOM_BIG_MEMORY"},
                {"action": "set-capability", "name": "memory_class", "value": "large"}],
}
VENDOR = {
    "uuid": UUID_B, "description": None, "scope": None,
    "conditions": [{"op": "contains", "field": "inventory.system_vendor.product_name",
                    "value": "PowerEdge", "multiple": "any", "invert": False}],
    "actions": [{"action": "set-attribute", "path": "/extra/vendor",
                 "value": "{data[inventory][system_vendor][manufacturer]}"}],
}
DATA = {"memory_mb": 196608, "cpus": 48,
        "inventory": {"system_vendor": {"manufacturer": "Dell Inc.",
                                        "product_name": "PowerEdge R640"},
                      "cpu": {"count": 48}}}


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A configuration file on an upgraded temporary SQLite database."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    path = tmp_path / "inspector.conf"
    path.write_text(f"[DEFAULT]\nauth_strategy = noauth\n[database]\nconnection = {url}\n"
                    "[pxe_filter]\ndriver = noop\n[ironic]\nauth_type = none\n"
                    "endpoint_override = http://127.0.0.1:9\n"
                    "[processing]\nstore_data = database\n")
    migrate.upgrade(url)
    return path


def run(conf: Path, *args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(main, ["rules", *args, "--config-file", str(conf)], input=stdin)


def write(tmp_path: Path, document: Any, name: str = "rules.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def exported(conf: Path) -> list[dict[str, Any]]:
    result = run(conf, "export")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def _store(conf: Path, uuid: str, data: dict[str, Any]) -> None:
    settings = load_settings([str(conf)])
    engine = create_engine(settings.database.connection)
    try:
        await Repository(engine).store_data(uuid, True, data)
    finally:
        await engine.dispose()


class TestExportImport:
    def test_export_empty(self, conf: Path) -> None:
        """No rules: an empty JSON list."""
        assert exported(conf) == []

    def test_round_trip(self, conf: Path, tmp_path: Path) -> None:
        """Imported rules export in the API's full form, without links, in file order."""
        result = run(conf, "import", write(tmp_path, [BIG_MEMORY, VENDOR]))
        assert result.exit_code == 0, result.output
        assert result.stdout.splitlines() == [
            f"created: {UUID_A} (Tag big-memory machines)", f"created: {UUID_B}", "2 created"]
        assert exported(conf) == [BIG_MEMORY, VENDOR]

    def test_existing_uuid_skipped(self, conf: Path, tmp_path: Path) -> None:
        """A rule whose UUID exists is skipped (not an error); links are ignored."""
        run(conf, "import", write(tmp_path, [BIG_MEMORY]))
        again = {**BIG_MEMORY, "links": [{"href": f"/v1/rules/{UUID_A}", "rel": "self"}]}
        result = run(conf, "import", write(tmp_path, [again, VENDOR]))
        assert result.exit_code == 0, result.output
        assert f"skipped: {UUID_A} (Tag big-memory machines): Rule with UUID {UUID_A} " \
               "already exists" in result.stdout
        assert "1 created, 1 skipped" in result.stdout
        assert [r["uuid"] for r in exported(conf)] == [UUID_A, UUID_B]

    def test_single_object_from_stdin(self, conf: Path) -> None:
        """One object (not a list) is one rule; - reads standard input; a UUID is generated."""
        body = {"conditions": [], "actions": [{"action": "add-trait", "name": "CUSTOM_ALL"}]}
        result = run(conf, "import", "-", stdin=json.dumps(body))
        assert result.exit_code == 0, result.output
        rules = exported(conf)
        assert len(rules) == 1 and rules[0]["actions"] == body["actions"]
        assert result.stdout.startswith(f"created: {rules[0]['uuid']}")

    def test_invalid_rules_reported(self, conf: Path, tmp_path: Path) -> None:
        """Invalid rules get the API's messages and exit status 1; valid ones are created.
        The detail lines of a schema error are indented under their rule."""
        bad_op = {"conditions": [{"op": "nope", "field": "x", "value": 1}],
                  "actions": [{"action": "fail", "message": "x"}]}
        bad_regex = {"description": "re", "conditions": [
            {"op": "matches", "field": "x", "value": "("}], "actions": [
            {"action": "fail", "message": "x"}]}
        result = run(conf, "import", write(tmp_path, [bad_op, VENDOR, bad_regex, 7]))
        assert result.exit_code == 1
        lines = [line for line in result.stdout.splitlines() if line[:1] not in ("", " ")]
        assert lines[0].startswith("invalid: #1: Validation failed for conditions: 'nope' is "
                                   "not one of")
        assert ("\n\n    Failed validating 'enum' in schema['items']['properties']['op']:\n"
                "        {'description': 'condition operator',\n"
                "         'enum': ['contains',\n") in result.stdout
        assert "\n\n    On instance[0]['op']:\n        'nope'\ncreated: " in result.stdout
        assert lines[1] == f"created: {UUID_B}"
        assert lines[2].startswith("invalid: #3 (re): Invalid parameters for operator "
                                   "matches: invalid regular expression")
        assert lines[3] == "invalid: #4: Invalid data: expected a JSON object, got int"
        assert lines[4] == "1 created, 3 invalid"
        assert [r["uuid"] for r in exported(conf)] == [UUID_B]

    def test_replace(self, conf: Path, tmp_path: Path) -> None:
        """--replace deletes every existing rule first."""
        run(conf, "import", write(tmp_path, [BIG_MEMORY]))
        result = run(conf, "import", "--replace", write(tmp_path, [VENDOR]))
        assert result.exit_code == 0, result.output
        assert [r["uuid"] for r in exported(conf)] == [UUID_B]

    def test_replace_with_invalid_changes_nothing(self, conf: Path, tmp_path: Path) -> None:
        """With --replace, one invalid rule keeps the existing rules as they are."""
        run(conf, "import", write(tmp_path, [BIG_MEMORY]))
        result = run(conf, "import", "--replace", write(tmp_path, [VENDOR, {"actions": []}]))
        assert result.exit_code == 1
        assert "Nothing was changed: 1 rule(s) cannot be imported" in result.output
        assert [r["uuid"] for r in exported(conf)] == [UUID_A]

    @pytest.mark.parametrize(("content", "message"), [
        ("{not json", "is not valid JSON"),
        ("42", "Expected a JSON list of rules or a single rule object")])
    def test_bad_file(self, conf: Path, tmp_path: Path, content: str, message: str) -> None:
        """A file that is not a rule document is an error message, not a traceback."""
        path = tmp_path / "bad.json"
        path.write_text(content)
        result = run(conf, "import", str(path))
        assert result.exit_code == 1 and message in result.output

    def test_schema_missing(self, tmp_path: Path) -> None:
        """Without `metalscope db upgrade`, the commands say so."""
        path = tmp_path / "other.conf"
        path.write_text(f"[database]\nconnection = sqlite:///{tmp_path / 'new.sqlite'}\n")
        result = run(path, "export")
        assert result.exit_code == 1 and "Run `metalscope db upgrade`" in result.output


IRONIC_RULES = [
    {"uuid": UUID_A, "description": "discovered", "priority": 10, "phase": "main",
     "conditions": [{"op": "is-true", "args": {"value": "{plugin_data[auto_discovered]}"}}],
     "actions": [{"op": "set-attribute", "args": {"path": "driver_info.ipmi_address",
                                                  "value": "{inventory[bmc_address]}"}}]},
    {"uuid": UUID_B, "description": "cleanup", "priority": 0,
     "conditions": [], "actions": [{"op": "del-attribute", "args": {"path": "extra.x"}}]},
]


class TestIronicFormat:
    def test_convert(self, conf: Path, tmp_path: Path) -> None:
        """convert prints the converted rules on stdout and the report on stderr."""
        result = run(conf, "convert", write(tmp_path, IRONIC_RULES))
        assert result.exit_code == 1
        converted = json.loads(result.stdout)
        assert [r["uuid"] for r in converted] == [UUID_A]
        assert converted[0]["conditions"][0]["field"] == "data://auto_discovered"
        assert f"NOT converted: {UUID_B} (cleanup)" in result.stderr
        assert "cannot remove a node attribute" in result.stderr
        assert result.stderr.rstrip().endswith("1 of 2 Ironic inspection rule(s) converted, "
                                               "1 not converted")

    def test_convert_everything(self, conf: Path, tmp_path: Path) -> None:
        """All converted: exit status 0; the output imports as is."""
        source = write(tmp_path, IRONIC_RULES[0])
        result = run(conf, "convert", source)
        assert result.exit_code == 0, result.output
        target = tmp_path / "converted.json"
        target.write_text(result.stdout)
        assert run(conf, "import", str(target)).exit_code == 0
        assert exported(conf)[0]["actions"][0]["value"] == "{data[inventory][bmc_address]}"

    def test_convert_yaml(self, conf: Path, tmp_path: Path) -> None:
        """Ironic's built-in rules file is YAML; convert reads it too."""
        path = tmp_path / "built-in.yaml"
        path.write_text("- description: all\n  actions:\n"
                        "  - op: add-trait\n    args: {name: CUSTOM_ALL}\n")
        result = run(conf, "convert", str(path))
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)[0]["actions"] == [
            {"action": "add-trait", "name": "CUSTOM_ALL"}]

    def test_convert_refused_by_validation(self, conf: Path, tmp_path: Path) -> None:
        """A conversion MetalScope's validation refuses (bad regex) is not converted."""
        rule = {"actions": [{"op": "add-trait", "args": {"name": "T"}}], "conditions": [
            {"op": "matches", "args": {"value": "{inventory[a]}", "regex": "("}}]}
        result = run(conf, "convert", write(tmp_path, rule))
        assert result.exit_code == 1 and json.loads(result.stdout) == []
        assert "MetalScope refuses the converted rule: Invalid parameters for operator " \
               "matches" in result.stderr

    def test_import_from_ironic(self, conf: Path, tmp_path: Path) -> None:
        """import --from-ironic reports the conversion, creates what converted, exits 1."""
        result = run(conf, "import", "--from-ironic", write(tmp_path, IRONIC_RULES))
        assert result.exit_code == 1
        assert f"created: {UUID_A} (discovered)" in result.stdout
        assert f"not converted: {UUID_B} (cleanup): action 1 (del-attribute)" in result.stdout
        assert "1 created, 1 not converted" in result.stdout
        assert [r["uuid"] for r in exported(conf)] == [UUID_A]


@pytest.fixture
def fake_ironic(monkeypatch: pytest.MonkeyPatch) -> FakeIronic:
    """The commands' IronicClient replaced by the in-memory fake."""
    fake = FakeIronic()
    monkeypatch.setattr(IronicClient, "from_settings", classmethod(lambda cls, s, **o: fake))
    return fake


class TestDryRunCommand:
    def test_reports_matches_and_changes(self, conf: Path, tmp_path: Path,
                                         fake_ironic: FakeIronic) -> None:
        """Matches, misses with the failing condition, and the pending changes; no writes."""
        node = fake_ironic.add_node(name="n1", macs=["52:54:00:00:00:01"])
        asyncio.run(_store(conf, node["uuid"], DATA))
        low = {"description": "small", "conditions": [
            {"op": "lt", "field": "memory_mb", "value": 1024}],
            "actions": [{"action": "fail", "message": "too small"}]}
        run(conf, "import", write(tmp_path, [BIG_MEMORY, low, VENDOR]))
        result = run(conf, "test", "--node", "n1")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0] == f"Dry run of 3 rule(s) for node {node['uuid']} (nothing is changed)"
        assert lines[1:3] == ["Matching (2):", f"  {UUID_A} (Tag big-memory machines)"]
        assert "(small): condition 1 (memory_mb lt 1024) is false: found 196608" in \
            result.stdout
        assert "  node: add /properties/capabilities = \"memory_class:large\"" in lines
        assert "  node: add /extra/vendor = \"Dell Inc.\"" in lines
        assert "  trait added: CUSTOM_BIG_MEMORY" in lines
        assert not [c for c in fake_ironic.calls if c[0] in ("patch_node", "add_trait")]

    def test_json(self, conf: Path, tmp_path: Path, fake_ironic: FakeIronic) -> None:
        """--json gives the same result as data."""
        node = fake_ironic.add_node(traits=["CUSTOM_BIG_MEMORY"])
        asyncio.run(_store(conf, node["uuid"], DATA))
        run(conf, "import", write(tmp_path, [BIG_MEMORY]))
        result = run(conf, "test", "--node", node["uuid"], "--json")
        document = json.loads(result.stdout)
        assert document["matching"] == [{"uuid": UUID_A,
                                         "description": "Tag big-memory machines"}]
        assert document["changes"]["traits_added"] == []  # the node has the trait already
        assert document["changes"]["node_patch"] == [
            {"op": "add", "path": "/properties/capabilities", "value": "memory_class:large"}]

    def test_no_data(self, conf: Path, fake_ironic: FakeIronic) -> None:
        """A node without stored data is a clear message."""
        node = fake_ironic.add_node()
        result = run(conf, "test", "--node", node["uuid"])
        assert result.exit_code == 1
        assert f"No processed introspection data is stored for node {node['uuid']}" in \
            result.output

    def test_no_data_with_store_none(self, conf: Path, fake_ironic: FakeIronic) -> None:
        """When data is not kept at all, the message says which option to change."""
        conf.write_text(conf.read_text().replace("store_data = database", "store_data = none"))
        node = fake_ironic.add_node()
        result = run(conf, "test", "--node", node["uuid"])
        assert "[processing]store_data is none, set it to database" in result.output

    def test_unknown_node(self, conf: Path, fake_ironic: FakeIronic) -> None:
        """A node Ironic does not know is reported with Ironic's lookup message."""
        result = run(conf, "test", "--node", "ghost")
        assert result.exit_code == 1 and "Node ghost was not found in Ironic" in result.output


class TestDryRun:
    @pytest.fixture(scope="class")
    def extensions(self) -> ExtensionRegistry:
        return ExtensionRegistry.from_settings(load_settings())

    def rule(self, body: dict[str, Any], extensions: ExtensionRegistry) -> Any:
        return parse_rule(body, extensions.conditions, extensions.actions)

    def test_scope_reason(self, extensions: ExtensionRegistry) -> None:
        """An out-of-scope rule says which scopes differ."""
        rule = self.rule({**BIG_MEMORY, "scope": "rack-1"}, extensions)
        node = NodeChanges({"uuid": UUID_B, "properties": {"inspection_scope": "rack-2"}}, [])
        verdict = dry_run([rule], DATA, node, extensions).verdicts[0]
        assert not verdict.matched
        assert verdict.reason == ("out of scope: the rule's scope is 'rack-1', the node's "
                                  "properties.inspection_scope is 'rack-2'")

    def test_missing_field_reason(self, extensions: ExtensionRegistry) -> None:
        """A missing field is named as such, with the condition's text."""
        rule = self.rule({"conditions": [
            {"op": "eq", "field": "node://extra.rack", "value": "r1", "invert": True,
             "multiple": "all"}], "actions": [{"action": "example"}]}, extensions)
        result = dry_run([rule], DATA, NodeChanges({"uuid": UUID_B}, []), extensions)
        assert result.verdicts[0].reason == (
            "condition 1 (node://extra.rack not eq 'r1' [all]) is false: the field was not found")

    def test_failing_action_stops(self, extensions: ExtensionRegistry) -> None:
        """A fail action is reported and the later rules' actions do not run (as processing)."""
        fail = self.rule({"uuid": UUID_A, "actions": [{"action": "fail", "message": "no"}]},
                         extensions)
        trait = self.rule({"actions": [{"action": "add-trait", "name": "T"}]}, extensions)
        result = dry_run([fail, trait], DATA, NodeChanges({"uuid": UUID_B}, []), extensions)
        assert result.failure == f"rule {UUID_A}: no"
        document = dry_run_document(result)
        assert len(document["matching"]) == 2 and document["changes"]["traits_added"] == []


class _RulesIronic:
    """Ironic's inspection rules API, in memory, for ``push-to-ironic``."""

    def __init__(self) -> None:
        self.rules: list[dict[str, Any]] = []

    async def list_inspection_rules(self) -> list[dict[str, Any]]:
        return list(self.rules)

    async def create_inspection_rule(self, rule: dict[str, Any]) -> dict[str, Any]:
        self.rules.append(rule)
        return rule

    async def aclose(self) -> None:
        pass


class TestExportToIronic:
    def test_export_format_ironic(self, conf: Path, tmp_path: Path) -> None:
        """Ironic's format on stdout, the report on stderr; a rule not exported: status 1."""
        assert run(conf, "import", write(tmp_path, [BIG_MEMORY, VENDOR])).exit_code == 0
        result = run(conf, "export", "--format", "ironic")
        assert result.exit_code == 1
        [rule] = json.loads(result.stdout)
        assert rule["uuid"] == UUID_B and rule["phase"] == "main" and rule["priority"] == 0
        assert rule["actions"] == [{"op": "set-attribute", "args": {
            "path": "/extra/vendor", "value": "{inventory[system_vendor][manufacturer]}"}}]
        assert f"NOT exported: {UUID_A} (Tag big-memory machines)" in result.stderr
        assert "ge with the number 65536" in result.stderr
        assert "1 of 2 rule(s) exported to Ironic's format, 1 not exported" in result.stderr

    def test_export_to_file(self, conf: Path, tmp_path: Path) -> None:
        assert run(conf, "import", write(tmp_path, VENDOR)).exit_code == 0
        target = tmp_path / "ironic.json"
        result = run(conf, "export", "--format", "ironic", "--output", str(target))
        assert result.exit_code == 0, result.output
        assert [r["uuid"] for r in json.loads(target.read_text())] == [UUID_B]
        assert result.stdout == ""

    def test_push(self, conf: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Created once; a second push skips it; the unexportable rule is reported."""
        fake = _RulesIronic()
        monkeypatch.setattr(IronicClient, "from_settings", classmethod(lambda cls, s, **o: fake))
        assert run(conf, "import", write(tmp_path, [BIG_MEMORY, VENDOR])).exit_code == 0
        first = run(conf, "push-to-ironic")
        assert first.exit_code == 1
        assert f"NOT exported: {UUID_A}" in first.stdout
        assert first.stdout.splitlines()[-2:] == [f"created: {UUID_B}",
                                                  "Ironic: 1 created, 0 skipped, 0 refused"]
        second = run(conf, "push-to-ironic")
        assert "Ironic: 0 created, 1 skipped, 0 refused" in second.stdout
        assert [r["uuid"] for r in fake.rules] == [UUID_B]
