"""What every authentication strategy shares: the caller's identity and the access check."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from metalscope.plugin_group import PluginGroup


@dataclass(frozen=True)
class Identity:
    """An authenticated caller: who, with which roles, in which scope."""

    user: str
    roles: tuple[str, ...] = ()
    user_id: str | None = None
    user_domain_id: str | None = None
    project_id: str | None = None
    project_domain_id: str | None = None
    domain_id: str | None = None
    #: ``"all"`` for a system-scoped token.
    system_scope: str | None = None

    def policy_values(self) -> dict[str, Any]:
        """The credentials oslo.policy rules are checked against (role:, system_scope:, ...)."""
        return {
            "user_id": self.user_id, "user_domain_id": self.user_domain_id,
            "project_id": self.project_id, "project_domain_id": self.project_domain_id,
            "domain_id": self.domain_id, "system_scope": self.system_scope,
            "roles": list(self.roles),
        }


class AccessControl(Protocol):
    """Decides whether a request may use a route, by the route's policy rule (spec 2.3)."""

    @property
    def challenge(self) -> str | None:
        """``WWW-Authenticate`` value sent with a 401, if the strategy has one."""

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity | None:
        """The caller's identity (None when anonymous) once the request passes ``rule``.

        Raises NotAuthenticated (401) when a non-public route gets no valid credentials,
        AccessDenied (403) when the policy refuses, InvalidRequest (400) for a malformed
        header, ServiceUnavailable (503) when the identity service cannot be asked.
        """

    async def aclose(self) -> None:
        """Release connections."""


class NoAuth:
    """``noauth``: every caller is trusted, no policy applies."""

    challenge: str | None = None

    async def check(self, rule: str, headers: Mapping[str, str], public: bool) -> Identity | None:
        return Identity("anonymous", ("admin",))

    async def aclose(self) -> None:
        return None


def _unknown_strategy(name: str, available: Sequence[str]) -> str:
    return f"Unknown [DEFAULT]auth_strategy {name}; use one of {', '.join(available)}"


#: Strategies by ``[DEFAULT]auth_strategy`` name; each entry point is a factory called with
#: the settings that returns an :class:`AccessControl`.
AUTH_STRATEGIES: PluginGroup[AccessControl] = PluginGroup(
    "metalscope.auth_strategies", "Auth strategy", AccessControl, _unknown_strategy)
