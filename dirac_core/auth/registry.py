"""DIRAC's Registry, read from the CS: users, groups, hosts and VOs.

Layout (DIRAC's): ``/Registry/Users/<name>/{DN,Email,ID}`` (ID = the identity provider's subject),
``/Registry/Groups/<group>/{Users,Properties,VO}``, ``/Registry/Hosts/<host>/{DN,Properties}``,
``/Registry/VO/<vo>``, ``/Registry/DefaultGroup`` (a list; the first one the user belongs to wins).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property

from dirac_core.auth.caller import Caller
from dirac_core.config.cfg import Config
from dirac_core.errors import Forbidden, Unauthorized

REGISTRY = "/Registry"
HOST_GROUP = "hosts"  # what DIRAC puts in credDict["group"] for host credentials


class Registry:
    """A snapshot of the Registry of `config`, indexed once (lookups are per request).

    Build a new one when the configuration changes.
    """

    def __init__(self, config: Config) -> None:
        self.config = config

    # -- indexes -----------------------------------------------------------------------------
    @cached_property
    def _users(self) -> list[str]:
        return self.config.sections(f"{REGISTRY}/Users")

    @cached_property
    def _hosts(self) -> list[str]:
        return self.config.sections(f"{REGISTRY}/Hosts")

    @cached_property
    def _user_by_dn(self) -> dict[str, str]:
        return {dn: u for u in self._users for dn in self.config.get_list(f"{REGISTRY}/Users/{u}/DN")}

    @cached_property
    def _user_by_id(self) -> dict[str, str]:
        return {sub: u for u in self._users for sub in self.config.get_list(f"{REGISTRY}/Users/{u}/ID")}

    @cached_property
    def _host_by_dn(self) -> dict[str, str]:
        return {dn: h for h in self._hosts for dn in self.config.get_list(f"{REGISTRY}/Hosts/{h}/DN")}

    @cached_property
    def _groups_of_user(self) -> dict[str, list[str]]:
        index: dict[str, list[str]] = {}
        for group in self.groups():
            for user in self.config.get_list(f"{REGISTRY}/Groups/{group}/Users"):
                index.setdefault(user, []).append(group)
        return index

    # -- lookups -----------------------------------------------------------------------------
    def users(self) -> list[str]:
        return list(self._users)

    def hosts(self) -> list[str]:
        return list(self._hosts)

    def groups(self) -> list[str]:
        return self.config.sections(f"{REGISTRY}/Groups")

    def user_dns(self, user: str) -> list[str]:
        return self.config.get_list(f"{REGISTRY}/Users/{user}/DN")

    def find_user_by_dn(self, dn: str) -> str | None:
        return self._user_by_dn.get(dn)

    def find_user_by_id(self, subject: str) -> str | None:
        return self._user_by_id.get(subject)

    def find_host_by_dn(self, dn: str) -> str | None:
        return self._host_by_dn.get(dn)

    def user_groups(self, user: str) -> list[str]:
        return list(self._groups_of_user.get(user, []))

    def group_properties(self, group: str) -> frozenset[str]:
        return frozenset(self.config.get_list(f"{REGISTRY}/Groups/{group}/Properties"))

    def group_vo(self, group: str) -> str:
        return self.config.get(f"{REGISTRY}/Groups/{group}/VO", "")

    def host_properties(self, host: str) -> frozenset[str]:
        return frozenset(self.config.get_list(f"{REGISTRY}/Hosts/{host}/Properties"))

    def default_group(self, user: str) -> str:
        groups = self.user_groups(user)
        if not groups:
            raise Forbidden(f"user {user} is in no group: add it to Users of a /Registry/Groups/<group> section")
        for group in self.config.get_list(f"{REGISTRY}/DefaultGroup"):
            if group in groups:
                return group
        return sorted(groups)[0]

    # -- callers -----------------------------------------------------------------------------
    def user_caller(self, user: str, group: str | None = None, *, sub: str | None = None) -> Caller:
        """The Caller for `user` acting in `group` (default group when None); 403 if not a member."""
        if user not in self._users:
            raise Unauthorized(f"user {user} is not in /Registry/Users: ask the VO admin to register you")
        chosen = group or self.default_group(user)
        if chosen not in self.user_groups(user):
            known = ", ".join(sorted(self.user_groups(user))) or "none"
            raise Forbidden(f"user {user} is not a member of group {chosen}: choose one of {known}")
        return Caller(
            sub=sub or self.config.get(f"{REGISTRY}/Users/{user}/ID", None) or f"user:{user}",
            username=user,
            vo=self.group_vo(chosen),
            group=chosen,
            properties=self.group_properties(chosen),
            is_host=False,
        )

    def host_caller(self, host: str, dn: str) -> Caller:
        return Caller(
            sub=dn,
            username=host,
            vo=self.config.get(f"{REGISTRY}/Hosts/{host}/VO", ""),
            group=HOST_GROUP,
            properties=self.host_properties(host),
            is_host=True,
        )

    def caller_for_dn(self, dn: str | Sequence[str], group: str | None = None) -> Caller:
        """Certificate login: a registered host, else a registered user (default or chosen group).

        `dn` may be several candidates (a proxy's possible identities): the first registered wins.
        """
        candidates = [dn] if isinstance(dn, str) else list(dn)
        for candidate in candidates:
            host = self.find_host_by_dn(candidate)
            if host is not None:
                return self.host_caller(host, candidate)
            user = self.find_user_by_dn(candidate)
            if user is not None:
                return self.user_caller(user, group, sub=candidate)
        dn = candidates[0] if candidates else "(none)"
        raise Unauthorized(
            f"certificate {dn} is not registered: add it as DN of a /Registry/Hosts/<host> or /Registry/Users/<user>"
        )
