"""The API's access policy (spec 2.3): upstream's oslo.policy rule names and default rules.

Every route names one rule. With ``[DEFAULT]auth_strategy = keystone`` a :class:`PolicyEnforcer`
evaluates it with oslo.policy against the caller's token (its roles and scope) plus the
``is_public_api`` flag of the route. Operators override rules in ``[oslo_policy]policy_file``
(YAML or JSON; a relative path is looked up next to the configuration file, as oslo.policy does).
``[oslo_policy]enforce_new_defaults = False`` ORs each rule's pre-Wallaby default back in.
The other strategies apply no policy at all (upstream behaviour).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from oslo_policy import policy

from metalscope.errors import ConfigurationError
from metalscope.settings import Settings
from metalscope.settings.libraries import policy_enforcer_conf

LOG = logging.getLogger(__name__)

SYSTEM_ADMIN = "role:admin and system_scope:all"
SYSTEM_READER = "role:reader and system_scope:all"
ADMIN = f"({SYSTEM_ADMIN}) or (role:admin) or (role:service)"
READER = f"({SYSTEM_READER}) or (role:admin) or (role:service)"
LEGACY_ADMIN = "rule:is_admin"
LEGACY_READER = "rule:is_admin or rule:is_observer"
DEPRECATED_SINCE = "W"
DEPRECATED_REASON = ("The inspector API now supports system scope and default roles "
                     "(admin, member, reader).")


@dataclass(frozen=True)
class Rule:
    """One named rule: its default check string and the operations it guards."""

    name: str
    check_str: str
    description: str
    operations: tuple[tuple[str, str], ...] = ()
    #: The pre-Wallaby default, ORed in when ``enforce_new_defaults`` is off.
    legacy_check_str: str | None = None


#: Helper rules that the API rules refer to.
HELPER_RULES = (
    Rule("is_admin", "role:admin or role:administrator or role:baremetal_admin",
         "Full read/write API access (deprecated)"),
    Rule("is_observer", "role:baremetal_observer", "Read-only API access (deprecated)"),
    Rule("public_api", "is_public_api:True", "Internal flag for public API routes"),
    Rule("default", "!", "Default rule: deny"),
)

#: One rule per API operation, with upstream's names and defaults (spec 2.3).
API_RULES = (
    Rule("introspection", "rule:public_api", "Access the API root for available versions",
         (("GET", "/"),)),
    Rule("introspection:version", "rule:public_api", "Access the versioned API root",
         (("GET", "/{version}"),)),
    Rule("introspection:continue", "rule:public_api", "Ramdisk callback to continue introspection",
         (("POST", "/v1/continue"),)),
    Rule("introspection:status", READER, "Get introspection status",
         (("GET", "/v1/introspection"), ("GET", "/v1/introspection/{node_id}")), LEGACY_READER),
    Rule("introspection:start", ADMIN, "Start introspection",
         (("POST", "/v1/introspection/{node_id}"),), LEGACY_ADMIN),
    Rule("introspection:abort", ADMIN, "Abort introspection",
         (("POST", "/v1/introspection/{node_id}/abort"),), LEGACY_ADMIN),
    Rule("introspection:data", ADMIN, "Get introspection data",
         (("GET", "/v1/introspection/{node_id}/data"),
          ("GET", "/v1/introspection/{node_id}/data/unprocessed")), LEGACY_ADMIN),
    Rule("introspection:reapply", ADMIN, "Reapply introspection on stored data",
         (("POST", "/v1/introspection/{node_id}/data/unprocessed"),), LEGACY_ADMIN),
    Rule("introspection:history", ADMIN, "(API 1.19) Get the hardware history of a node and "
         "the diff between two of its versions",
         (("GET", "/v1/introspection/{node_id}/history"),
          ("GET", "/v1/introspection/{node_id}/history/{version}"),
          ("GET", "/v1/introspection/{node_id}/history/{version}/unprocessed"),
          ("GET", "/v1/introspection/{node_id}/diff")), LEGACY_ADMIN),
    Rule("introspection:rule:get", ADMIN, "Get introspection rule(s)",
         (("GET", "/v1/rules"), ("GET", "/v1/rules/{rule_id}")), LEGACY_ADMIN),
    Rule("introspection:rule:delete", ADMIN, "Delete introspection rule(s)",
         (("DELETE", "/v1/rules"), ("DELETE", "/v1/rules/{rule_id}")), LEGACY_ADMIN),
    Rule("introspection:rule:create", ADMIN, "Create introspection rule",
         (("POST", "/v1/rules"),), LEGACY_ADMIN),
    Rule("metrics:get", READER, "Get the Prometheus metrics of the instance (on the API's "
         "listener; a separate [metrics]port is not authenticated)",
         (("GET", "/metrics"),), LEGACY_READER),
)

RULE_NAMES = frozenset(rule.name for rule in API_RULES)


def _rule_default(rule: Rule) -> policy.RuleDefault:
    if not rule.operations:
        return policy.RuleDefault(rule.name, rule.check_str, description=rule.description)
    deprecated = None
    if rule.legacy_check_str is not None:
        deprecated = policy.DeprecatedRule(rule.name, rule.legacy_check_str,
                                           deprecated_reason=DEPRECATED_REASON,
                                           deprecated_since=DEPRECATED_SINCE)
    return policy.DocumentedRuleDefault(
        name=rule.name, check_str=rule.check_str, description=rule.description,
        operations=[{"method": method, "path": path} for method, path in rule.operations],
        deprecated_rule=deprecated)


def rule_defaults() -> list[policy.RuleDefault]:
    """oslo.policy defaults for every rule, helpers first."""
    return [_rule_default(rule) for rule in (*HELPER_RULES, *API_RULES)]


class PolicyEnforcer:
    """oslo.policy evaluation of the API rules, with the ``[oslo_policy]`` options of
    ``settings``.

    oslo.policy reads the configuration the settings were loaded from (it resolves a relative
    ``policy_file`` against the configuration files). The policy file is read at
    construction, so a broken file stops the service from starting, and re-read by oslo.policy
    whenever it changes.
    """

    def __init__(self, settings: Settings) -> None:
        self._enforcer = policy.Enforcer(policy_enforcer_conf(settings))
        self._enforcer.suppress_default_change_warnings = True
        self._enforcer.register_defaults(rule_defaults())
        try:
            self._enforcer.load_rules()
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"Invalid policy file {self._enforcer.policy_file}: {exc}") from exc
        unknown = set(self._enforcer.file_rules) - {r.name for r in (*HELPER_RULES, *API_RULES)}
        if unknown:
            LOG.warning("The policy file defines rules MetalScope does not use: %s",
                        ", ".join(sorted(unknown)))

    def effective_rules(self) -> dict[str, str]:
        """Every rule's check string as evaluated: defaults, file overrides, legacy defaults."""
        self._enforcer.load_rules()
        return {name: str(check) for name, check in sorted(self._enforcer.rules.items())}

    def allows(self, rule: str, credentials: Mapping[str, Any]) -> bool:
        """Whether ``credentials`` pass ``rule``.

        An unknown rule name falls back to the ``default`` rule (deny); a rule that cannot be
        evaluated (the policy file broke while running) denies too.
        """
        try:
            return bool(self._enforcer.enforce(rule, {}, dict(credentials)))
        except policy.InvalidScope:
            return False
        except (OSError, ValueError) as exc:
            LOG.error("Cannot evaluate policy rule %s, denying: %s", rule, exc)
            return False


def sample_policy(rules: Iterable[Rule] = (*HELPER_RULES, *API_RULES)) -> str:
    """A commented policy.yaml listing every API rule with its default and operations."""
    lines: list[str] = []
    for rule in rules:
        lines.append(f"# {rule.description}")
        lines += [f"# {method}  {path}" for method, path in rule.operations]
        if rule.legacy_check_str is not None:
            lines.append(f"# Before Wallaby (still ORed in when [oslo_policy]enforce_new_defaults "
                         f"= False): \"{rule.legacy_check_str}\"")
        lines.append(f'#"{rule.name}": "{rule.check_str}"')
        lines.append("")
    return "\n".join(lines)
