"""ExtensionRegistry: the plugins a running service uses, loaded from entry points at start-up.

Built-in hooks, rule conditions and rule actions are registered through the same entry-point
groups as third-party ones (each a :class:`~metalscope.plugin_group.PluginGroup`). The
registry is an instance built once (by the app factory or a test) and validated there: an
unknown name, an import error, a constructor that fails, a plugin lacking its protocol or a
dependency listed out of order stops start-up with a message naming the plugin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint

from metalscope.errors import ConfigurationError
from metalscope.plugin_group import PluginGroup
from metalscope.processing_hooks.spec import NotFoundHook, ProcessingHook
from metalscope.rules.spec import RuleAction, RuleCondition
from metalscope.settings import Settings

HOOKS_GROUP = "metalscope.processing_hooks"
CONDITIONS_GROUP = "metalscope.rule_conditions"
ACTIONS_GROUP = "metalscope.rule_actions"
NOT_FOUND_HOOKS_GROUP = "metalscope.node_not_found_hooks"


def _missing_hooks(name: str, available: Sequence[str]) -> str:
    return f"The following hook(s) are missing or failed to load: {name}"


PROCESSING_HOOKS: PluginGroup[ProcessingHook] = PluginGroup(
    HOOKS_GROUP, "Hook", ProcessingHook, _missing_hooks)
NOT_FOUND_HOOKS: PluginGroup[NotFoundHook] = PluginGroup(
    NOT_FOUND_HOOKS_GROUP, "Node-not-found hook", NotFoundHook, _missing_hooks)
RULE_CONDITIONS: PluginGroup[RuleCondition] = PluginGroup(
    CONDITIONS_GROUP, "Rule condition", RuleCondition)
RULE_ACTIONS: PluginGroup[RuleAction] = PluginGroup(ACTIONS_GROUP, "Rule action", RuleAction)


def load_group(group: str) -> dict[str, EntryPoint]:
    """Every entry point of a group, by name (not loaded)."""
    return PluginGroup[object](group, group, object).entry_points()


@dataclass
class ExtensionRegistry:
    """Instantiated processing hooks (in configured order), conditions and actions."""

    hooks: list[tuple[str, ProcessingHook]] = field(default_factory=list)
    conditions: dict[str, RuleCondition] = field(default_factory=dict)
    actions: dict[str, RuleAction] = field(default_factory=dict)
    not_found_hook: NotFoundHook | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtensionRegistry:
        return cls(hooks=_load_hooks(settings),
                   conditions=RULE_CONDITIONS.create_all(),
                   actions=RULE_ACTIONS.create_all(),
                   not_found_hook=_load_not_found_hook(settings))


def _load_hooks(settings: Settings) -> list[tuple[str, ProcessingHook]]:
    """The configured hooks in order; every name that is not installed is reported at once."""
    names = settings.processing.hook_names
    installed = set(PROCESSING_HOOKS.names())
    missing = [n for n in names if n not in installed]
    hooks = [(n, PROCESSING_HOOKS.create(n, settings)) for n in names if n in installed]
    if missing:
        raise ConfigurationError(
            f"The following hook(s) are missing or failed to load: {', '.join(missing)}")
    _check_dependencies(hooks)
    return hooks


def _check_dependencies(hooks: list[tuple[str, ProcessingHook]]) -> None:
    problems = []
    seen: list[str] = []
    for name, hook in hooks:
        absent = [d for d in getattr(hook, "dependencies", []) if d not in seen]
        if absent:
            problems.append(f"Hook {name} requires the following hooks to be enabled "
                            f"before it: {', '.join(absent)}")
        seen.append(name)
    if problems:
        raise ConfigurationError("Some hooks failed to load due to dependency problems:\n"
                                 + "\n".join(problems))


def _load_not_found_hook(settings: Settings) -> NotFoundHook | None:
    name = settings.processing.node_not_found_hook
    return NOT_FOUND_HOOKS.create(name, settings) if name else None
