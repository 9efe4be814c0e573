"""The project's named groups of principals (R26): who may stand for a group in a review
round's quorum. A group is set whole (`PUT …/groups/{name}`): its members are principals of
the project, at least one; a quorum names groups the project has."""

from __future__ import annotations

from domain import events as ev
from domain import validation as valid
from domain.contents import ProjectContents
from domain.errors import InvalidValueError, RuleViolationError, Violation

GROUP_MEMBERS_MAX = 100


class GroupCommands(ProjectContents):
    def set_group(self, name: str, members: list[str], *, actor: str) -> None:
        """R26: the group `name` has exactly `members` from now on (created when new); each is
        a member of the project. Nothing is recorded when the members are the same."""
        valid.name("name", name)
        if not 1 <= len(members) <= GROUP_MEMBERS_MAX:
            raise InvalidValueError("members", f"a group has 1 to {GROUP_MEMBERS_MAX} members")
        for member in members:
            valid.name("members", member)
        if len(set(members)) != len(members):
            raise InvalidValueError("members", "names a principal more than once")
        strangers = [m for m in members if self.role_of(m) is None]
        if strangers:
            raise RuleViolationError(
                [
                    Violation(
                        "R26",
                        f"{m} is not a member of the project",
                        {"principal": m, "group": name},
                    )
                    for m in strangers
                ]
            )
        previous = self.groups.get(name)
        if previous is not None and sorted(previous) == sorted(members):
            return
        self._trigger(
            ev.GroupMembersSet,
            name=name,
            members=list(members),
            previous_members=None if previous is None else list(previous),
            actor=actor,
        )
