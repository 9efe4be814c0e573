"""Project roles (SPEC §2): cumulative, each including the one before."""

from __future__ import annotations

from enum import StrEnum


class ProjectRole(StrEnum):
    VIEWER = "viewer"
    CONTRIBUTOR = "contributor"
    REVIEWER = "reviewer"
    MANAGER = "manager"

    @property
    def rank(self) -> int:
        return _RANKS[self]

    def includes(self, other: ProjectRole) -> bool:
        """True when this role may do everything `other` may."""
        return self.rank >= other.rank


_RANKS = {role: rank for rank, role in enumerate(ProjectRole)}
