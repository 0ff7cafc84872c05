"""The policy table (spec 2.3): every rule against admin, service, reader, member and no-role
callers, system and project scope, legacy defaults and policy file overrides."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from metalscope.cli import main
from metalscope.errors import ConfigurationError
from metalscope.policy import API_RULES, HELPER_RULES, RULE_NAMES, PolicyEnforcer, sample_policy
from metalscope.settings import load_settings

PUBLIC = {"introspection", "introspection:version", "introspection:continue"}
READ = {"introspection:status"}
#: Rules with the reader default.
READERS = READ | {"metrics:get"}
ADMIN_ONLY = RULE_NAMES - PUBLIC - READERS


def creds(*roles: str, system: bool = False, project: str | None = None,
          public: bool = False) -> dict[str, Any]:
    return {"roles": list(roles), "system_scope": "all" if system else None,
            "project_id": project, "domain_id": None, "user_id": "u", "is_public_api": public}


#: caller → the non-public rules it passes with the new defaults.
NEW_DEFAULTS = {
    "system admin": (creds("admin", "member", "reader", system=True), RULE_NAMES - PUBLIC),
    "project admin": (creds("admin", "member", "reader", project="p"), RULE_NAMES - PUBLIC),
    "service": (creds("service", project="service"), RULE_NAMES - PUBLIC),
    "system reader": (creds("reader", system=True), READERS),
    "system member": (creds("member", "reader", system=True), READERS),
    "project reader": (creds("reader", project="p"), set()),
    "project member": (creds("member", "reader", project="p"), set()),
    "system admin role only for reading": (creds("reader", "manager", system=True), READERS),
    "no role": (creds(project="p"), set()),
    "no role, system": (creds(system=True), set()),
    "legacy baremetal_admin": (creds("baremetal_admin", project="p"), set()),
    "legacy baremetal_observer": (creds("baremetal_observer", project="p"), set()),
    "legacy administrator": (creds("administrator", project="p"), set()),
    "anonymous": ({"roles": []}, set()),
}

#: caller → the non-public rules it passes with enforce_new_defaults = False.
LEGACY_DEFAULTS = {
    "legacy baremetal_admin": (creds("baremetal_admin", project="p"), RULE_NAMES - PUBLIC),
    "legacy administrator": (creds("administrator", project="p"), RULE_NAMES - PUBLIC),
    "legacy baremetal_observer": (creds("baremetal_observer", project="p"), READERS),
    "system reader": (creds("reader", system=True), READERS),
    "project admin": (creds("admin", project="p"), RULE_NAMES - PUBLIC),
    "project member": (creds("member", "reader", project="p"), set()),
    "no role": (creds(project="p"), set()),
}


def enforcer(tmp_path: Path, **oslo_policy: Any) -> PolicyEnforcer:
    oslo_policy.setdefault("policy_file", str(tmp_path / "absent-policy.yaml"))
    return PolicyEnforcer(load_settings(overrides={"oslo_policy": oslo_policy}))


def passed(policy: PolicyEnforcer, credentials: dict[str, Any]) -> set[str]:
    return {name for name in RULE_NAMES - PUBLIC if policy.allows(name, credentials)}


class TestTable:
    def test_rule_names_and_defaults(self) -> None:
        """The names and default check strings are upstream's."""
        defaults = {rule.name: rule.check_str for rule in API_RULES}
        admin = "(role:admin and system_scope:all) or (role:admin) or (role:service)"
        reader = "(role:reader and system_scope:all) or (role:admin) or (role:service)"
        assert defaults == {
            "introspection": "rule:public_api", "introspection:version": "rule:public_api",
            "introspection:continue": "rule:public_api", "introspection:status": reader,
            "metrics:get": reader,
            **dict.fromkeys(ADMIN_ONLY, admin)}
        assert {"introspection:start", "introspection:abort", "introspection:data",
                "introspection:reapply", "introspection:rule:get", "introspection:rule:create",
                "introspection:rule:delete", "introspection:history"} == ADMIN_ONLY
        helpers = {rule.name: rule.check_str for rule in HELPER_RULES}
        assert helpers == {"is_admin": "role:admin or role:administrator or role:baremetal_admin",
                           "is_observer": "role:baremetal_observer",
                           "public_api": "is_public_api:True", "default": "!"}

    def test_history_rule_as_data_rule(self) -> None:
        """``introspection:history`` (API 1.19) defaults to exactly what guards the data."""
        rules = {rule.name: rule for rule in API_RULES}
        history, data = rules["introspection:history"], rules["introspection:data"]
        assert (history.check_str, history.legacy_check_str) == (data.check_str,
                                                                 data.legacy_check_str)
        assert ("GET", "/v1/introspection/{node_id}/diff") in history.operations
        assert '#"introspection:history": ' in sample_policy()

    @pytest.mark.parametrize("caller", sorted(NEW_DEFAULTS))
    def test_new_defaults(self, tmp_path: Path, caller: str) -> None:
        """With the new defaults only admin and service may change things; readers read."""
        credentials, allowed = NEW_DEFAULTS[caller]
        assert passed(enforcer(tmp_path), credentials) == allowed

    @pytest.mark.parametrize("caller", sorted(LEGACY_DEFAULTS))
    def test_legacy_defaults(self, tmp_path: Path, caller: str) -> None:
        """enforce_new_defaults = False ORs the pre-Wallaby rules back in."""
        credentials, allowed = LEGACY_DEFAULTS[caller]
        assert passed(enforcer(tmp_path, enforce_new_defaults=False), credentials) == allowed

    @pytest.mark.parametrize("rule", sorted(PUBLIC))
    def test_public_rules(self, tmp_path: Path, rule: str) -> None:
        """Public routes pass for anyone, anonymous included, thanks to is_public_api."""
        policy = enforcer(tmp_path)
        assert policy.allows(rule, {"roles": [], "is_public_api": True})
        assert policy.allows(rule, creds(project="p", public=True))
        assert not policy.allows(rule, {"roles": ["admin"], "is_public_api": False})

    def test_public_flag_does_not_open_other_rules(self, tmp_path: Path) -> None:
        """is_public_api only matters to rules that refer to it."""
        assert passed(enforcer(tmp_path), {"roles": [], "is_public_api": True}) == set()

    def test_unknown_rule_is_denied_by_default(self, tmp_path: Path) -> None:
        """An unregistered rule name falls back to the deny-all ``default`` rule."""
        assert not enforcer(tmp_path).allows("introspection:nothing", creds("admin", system=True))


class TestPolicyFile:
    def test_yaml_override(self, tmp_path: Path) -> None:
        """A policy.yaml rule replaces its default; the others keep theirs."""
        path = tmp_path / "policy.yaml"
        path.write_text(yaml.safe_dump({"introspection:start": "role:member",
                                        "introspection:status": "!"}))
        policy = enforcer(tmp_path, policy_file=str(path))
        assert passed(policy, creds("member", project="p")) == {"introspection:start"}
        assert passed(policy, creds("admin", "member", system=True)) == RULE_NAMES - PUBLIC - READ
        assert passed(policy, creds("admin", system=True)) == RULE_NAMES - PUBLIC - READ - {
            "introspection:start"}

    def test_json_override(self, tmp_path: Path) -> None:
        """The older JSON format works too, and helper rules can be redefined."""
        path = tmp_path / "policy.json"
        path.write_text(json.dumps({"introspection:rule:get": "rule:is_observer",
                                    "is_observer": "role:auditor"}))
        policy = enforcer(tmp_path, policy_file=str(path))
        assert passed(policy, creds("auditor", project="p")) == {"introspection:rule:get"}

    def test_relative_path_next_to_config_file(self, tmp_path: Path) -> None:
        """A relative policy_file is found next to the configuration file, as oslo.policy does."""
        (tmp_path / "policy.yaml").write_text('"introspection:abort": "role:member"\n')
        conf = tmp_path / "inspector.conf"
        conf.write_text("[DEFAULT]\nauth_strategy = keystone\n")
        policy = PolicyEnforcer(load_settings([str(conf)]))
        assert passed(policy, creds("member", project="p")) == {"introspection:abort"}

    def test_changes_apply_without_restart(self, tmp_path: Path) -> None:
        """An edited file is read again at the next check."""
        path = tmp_path / "policy.yaml"
        path.write_text('"introspection:status": "role:one"\n')
        policy = enforcer(tmp_path, policy_file=str(path))
        assert passed(policy, creds("one")) == READ
        path.write_text('"introspection:status": "role:two"\n')
        later = path.stat().st_mtime + 10  # oslo.policy reloads when the mtime grows
        os.utime(path, (later, later))
        assert passed(policy, creds("one")) == set()
        assert passed(policy, creds("two")) == READ

    def test_broken_file_refuses_to_start(self, tmp_path: Path) -> None:
        """A policy file that does not parse is a configuration error at start-up."""
        path = tmp_path / "policy.yaml"
        path.write_text('{"introspection:start": [\n')
        with pytest.raises(ConfigurationError, match="Invalid policy file"):
            enforcer(tmp_path, policy_file=str(path))

    def test_file_broken_while_running_denies(self, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
        """A file that stops parsing after start-up is logged, not a failed request: the check
        that finds it denies, later ones keep the rules that last loaded (oslo.policy's cache)."""
        path = tmp_path / "policy.yaml"
        path.write_text('"introspection:status": "role:one"\n')
        policy = enforcer(tmp_path, policy_file=str(path))
        path.write_text('{"introspection:status": [\n')
        later = path.stat().st_mtime + 10
        os.utime(path, (later, later))
        assert not policy.allows("introspection:status", creds("one"))
        assert "Cannot evaluate policy rule" in caplog.text
        assert passed(policy, creds("one")) == READ

    def test_enforce_scope_is_accepted(self, tmp_path: Path) -> None:
        """enforce_scope still loads; upstream's rules declare no scope types, so it changes
        nothing."""
        conf = tmp_path / "inspector.conf"
        conf.write_text("[oslo_policy]\nenforce_scope = false\n")
        settings = load_settings([str(conf)])
        assert settings.oslo_policy.enforce_scope is False
        admin = creds("admin", project="p")
        assert passed(PolicyEnforcer(settings), admin) == RULE_NAMES - PUBLIC


class TestSample:
    def test_sample_lists_every_rule_commented(self) -> None:
        """The sample policy names every rule with its default, all commented out."""
        text = sample_policy()
        for rule in (*HELPER_RULES, *API_RULES):
            assert f'#"{rule.name}": "{rule.check_str}"' in text
        assert yaml.safe_load(text) is None

    def test_sample_uncommented_is_the_defaults(self, tmp_path: Path) -> None:
        """Uncommenting the sample gives a file equivalent to the defaults."""
        lines = [line[1:] for line in sample_policy().splitlines() if line.startswith('#"')]
        path = tmp_path / "policy.yaml"
        path.write_text("\n".join(lines) + "\n")
        policy = enforcer(tmp_path, policy_file=str(path))
        for caller, (credentials, allowed) in NEW_DEFAULTS.items():
            assert passed(policy, credentials) == allowed, caller


class TestCommands:
    def test_defaults(self) -> None:
        """``metalscope policy defaults`` prints the sample policy file."""
        result = CliRunner().invoke(main, ["policy", "defaults"])
        assert result.exit_code == 0 and result.output == sample_policy()

    def test_show_with_overrides(self, tmp_path: Path) -> None:
        """``metalscope policy show`` prints the rules in force, file and legacy defaults
        included."""
        (tmp_path / "policy.yaml").write_text('"introspection:start": "role:member"\n')
        conf = tmp_path / "inspector.conf"
        conf.write_text("[oslo_policy]\nenforce_new_defaults = false\n")
        result = CliRunner().invoke(main, ["policy", "show", "--config-file", str(conf)])
        assert result.exit_code == 0, result.output
        lines = dict(line.split(": ", 1) for line in result.output.splitlines())
        assert lines['"introspection:start"'] == '"role:member"'
        assert "rule:is_admin or rule:is_observer" in lines['"introspection:status"']

    def test_show_broken_file(self, tmp_path: Path) -> None:
        (tmp_path / "policy.yaml").write_text("{[\n")
        conf = tmp_path / "inspector.conf"
        conf.write_text("[DEFAULT]\n")
        result = CliRunner().invoke(main, ["policy", "show", "--config-file", str(conf)])
        assert result.exit_code == 1 and "Invalid policy file" in result.output
