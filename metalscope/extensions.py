"""ExtensionRegistry: the plugins a running service uses, loaded from entry points at start-up.

Built-in hooks, rule conditions and rule actions are registered through the same entry-point
groups as third-party ones. The registry is an instance built once (by the app factory or a
test) and validated there: an unknown name, a constructor that fails or a dependency listed
out of order stops start-up with a message naming the plugin.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from metalscope.errors import ConfigurationError
from metalscope.settings import Settings

HOOKS_GROUP = "metalscope.processing_hooks"
CONDITIONS_GROUP = "metalscope.rule_conditions"
ACTIONS_GROUP = "metalscope.rule_actions"
NOT_FOUND_HOOKS_GROUP = "metalscope.node_not_found_hooks"


def load_group(group: str) -> dict[str, Any]:
    """Every entry point of a group, by name, loaded (the objects, not instances)."""
    return {ep.name: ep for ep in entry_points(group=group)}


@dataclass
class ExtensionRegistry:
    """Instantiated processing hooks (in configured order), conditions and actions."""

    hooks: list[tuple[str, Any]] = field(default_factory=list)
    conditions: dict[str, Any] = field(default_factory=dict)
    actions: dict[str, Any] = field(default_factory=dict)
    not_found_hook: Any = None

    @classmethod
    def from_settings(cls, settings: Settings) -> ExtensionRegistry:
        return cls(hooks=_load_hooks(settings),
                   conditions={n: ep.load()() for n, ep in load_group(CONDITIONS_GROUP).items()},
                   actions={n: ep.load()() for n, ep in load_group(ACTIONS_GROUP).items()},
                   not_found_hook=_load_not_found_hook(settings))


def _load_hooks(settings: Settings) -> list[tuple[str, Any]]:
    available = load_group(HOOKS_GROUP)
    names = settings.processing.hook_names
    missing = [n for n in names if n not in available]
    hooks: list[tuple[str, Any]] = []
    for name in names:
        if name in missing:
            continue
        try:
            hooks.append((name, available[name].load()(settings)))
        except ConfigurationError:
            raise
        except Exception as exc:  # a constructor check failed: refuse to start, name the hook
            raise ConfigurationError(f"Hook {name} failed to load: {exc}") from exc
    if missing:
        raise ConfigurationError(
            f"The following hook(s) are missing or failed to load: {', '.join(missing)}")
    _check_dependencies(hooks)
    return hooks


def _check_dependencies(hooks: list[tuple[str, Any]]) -> None:
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


def _load_not_found_hook(settings: Settings) -> Any:
    name = settings.processing.node_not_found_hook
    if not name:
        return None
    available = load_group(NOT_FOUND_HOOKS_GROUP)
    if name not in available:
        raise ConfigurationError(f"The following hook(s) are missing or failed to load: {name}")
    return available[name].load()(settings)
