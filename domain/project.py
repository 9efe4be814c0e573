"""The Project aggregate: one event stream that holds phases, deliverables, milestones and members.

Each command method checks its rules with named guards, then triggers one or more events from
`domain.events`; the events' `apply` methods are the only place state changes. The commands are
grouped by what they act on: members and phases here, deliverables in `domain.deliverables`,
their reviews in `domain.reviews`, milestones in `domain.milestones`, named groups in
`domain.groups`; what a project holds, and how it is read, in `domain.contents`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain import events as ev
from domain import validation as valid
from domain.deliverables import UNSET as UNSET
from domain.entities import Deliverable, Milestone, Phase
from domain.errors import EntityNotFoundError, refuse
from domain.gates import GateCommands
from domain.groups import GroupCommands
from domain.milestones import MilestoneCommands
from domain.reviews import ReviewCommands
from domain.roles import ProjectRole


class Project(ReviewCommands, MilestoneCommands, GateCommands, GroupCommands, Aggregate):
    """One project's event stream: members and phases here; deliverables, their reviews,
    milestones, phase gates and groups in their own modules (`DeliverableCommands`,
    `ReviewCommands`, `MilestoneCommands`, `GateCommands`, `GroupCommands`).

    Version 2 holds the names of its baselines (R19). A snapshot of version 1 was taken by code
    that could not name a baseline, so it had none: the upcast is exact.

    Version 3 holds the project's named groups of principals (R26). A snapshot of version 2
    was taken before groups existed: it had none."""

    class_version = 3

    @staticmethod
    def upcast_v1_v2(state: dict[str, Any]) -> None:
        state["baseline_versions"] = {}

    @staticmethod
    def upcast_v2_v3(state: dict[str, Any]) -> None:
        state["groups"] = {}

    def __init__(
        self, name: str, description: str, timezone: str, risk_window_days: int, actor: str
    ) -> None:
        self.name = name
        self.description = description
        self.timezone = timezone
        self.risk_window_days = risk_window_days
        # Role values as plain strings: they survive a snapshot's JSON round trip unchanged.
        self.members: dict[str, str] = {actor: ProjectRole.MANAGER.value}
        self.phases: dict[str, Phase] = {}
        self.deliverables: dict[str, Deliverable] = {}
        self.milestones: dict[str, Milestone] = {}
        # R19: each baseline name the project used, and the version its re-baseline made.
        self.baseline_versions: dict[str, int] = {}
        # R26: the project's named groups of principals, name -> members.
        self.groups: dict[str, list[str]] = {}

    # Copy-on-write (see `__deepcopy__`): the keys of the deliverables and milestones this
    # object may change in place; None when it owns them all (a project loaded or replayed).
    # Slots, not attributes: a snapshot stores the instance's __dict__, and must not see them.
    __slots__ = ("_owned_deliverables", "_owned_milestones")
    _owned_deliverables: set[str] | None
    _owned_milestones: set[str] | None

    def __deepcopy__(self, memo: dict[int, Any]) -> Project:
        """The copy a command works on (the event store's cache hands one out per load).

        Independent of the original as `copy.deepcopy`'s would be, at a cost that does not grow
        with the entities' contents: the containers are new, but deliverables and milestones
        are shared with the original until an event changes one (`deliverable_to_change`,
        `milestone_to_change` clone it first, in whichever of the two changes it). Phases and
        members, few and small, are copied at once. So a command on a project of 1,000
        deliverables copies two dicts of references, not 1,000 entities.
        """
        copy = object.__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.__dict__["_pending_events"] = list(self.__dict__["_pending_events"])
        copy.members = dict(self.members)
        copy.phases = {key: phase.clone() for key, phase in self.phases.items()}
        copy.deliverables = dict(self.deliverables)
        copy.milestones = dict(self.milestones)
        copy.baseline_versions = dict(self.baseline_versions)
        copy.groups = {name: list(members) for name, members in self.groups.items()}
        # From now on both share every deliverable and milestone: each clones before a change.
        for shared in (self, copy):
            shared._owned_deliverables = set()
            shared._owned_milestones = set()
        memo[id(self)] = copy
        return copy

    def deliverable_to_change(self, key: str) -> Deliverable:
        """The deliverable under `key`, this object's own (cloned first if it is shared with a
        copy): what an event's `apply` changes. KeyError if there is none."""
        deliverable = self.deliverables[key]
        owned = getattr(self, "_owned_deliverables", None)
        if owned is not None and key not in owned:
            deliverable = deliverable.clone()
            self.deliverables[key] = deliverable
            owned.add(key)
        return deliverable

    def milestone_to_change(self, key: str) -> Milestone:
        """The milestone under `key`, this object's own (see `deliverable_to_change`)."""
        milestone = self.milestones[key]
        owned = getattr(self, "_owned_milestones", None)
        if owned is not None and key not in owned:
            milestone = milestone.clone()
            self.milestones[key] = milestone
            owned.add(key)
        return milestone

    @classmethod
    def create(
        cls,
        *,
        name: str,
        description: str = "",
        timezone: str = "UTC",
        risk_window_days: int = 7,
        actor: str,
        project_id: UUID | None = None,
    ) -> Project:
        return cls._create(
            ev.ProjectCreated,
            id=project_id or uuid4(),
            name=valid.name("name", name),
            description=valid.text("description", description),
            timezone=valid.timezone(timezone),
            risk_window_days=valid.risk_window_days(risk_window_days),
            actor=actor,
        )

    def _trigger(self, event_class: type[ev.ProjectEvent], **kwargs: Any) -> None:
        self.trigger_event(event_class, **kwargs)

    # --- reading -----------------------------------------------------------------------------

    @property
    def created_on(self) -> datetime:
        return self._created_on

    # --- members -----------------------------------------------------------------------------

    def set_member(self, principal: str, role: ProjectRole, *, actor: str) -> None:
        valid.name("principal", principal)
        current = self.role_of(principal)
        if current is role:
            return
        if current is None:
            self._trigger(ev.MemberAdded, principal=principal, role=role.value, actor=actor)
            return
        if current is ProjectRole.MANAGER:
            self._check_not_last_manager(principal)
        self._trigger(
            ev.MemberRoleChanged,
            principal=principal,
            role=role.value,
            previous_role=current.value,
            actor=actor,
        )

    def remove_member(self, principal: str, *, actor: str) -> None:
        if principal not in self.members:
            raise EntityNotFoundError("member", principal)
        self._check_not_last_manager(principal)
        self._trigger(ev.MemberRemoved, principal=principal, actor=actor)

    def _check_not_last_manager(self, principal: str) -> None:
        managers = [p for p, r in self.members.items() if r == ProjectRole.MANAGER.value]
        if managers == [principal]:
            raise refuse("roles", f"{principal} is the project's last manager")

    # --- phases ------------------------------------------------------------------------------

    def add_phase(self, name: str, *, actor: str) -> UUID:
        valid.name("name", name)
        if any(p.name.casefold() == name.casefold() for p in self.phases.values()):
            raise refuse("R14", f"a phase named '{name}' already exists", name=name)
        phase_id = uuid4()
        self._trigger(ev.PhaseAdded, phase_id=phase_id, name=name, actor=actor)
        return phase_id
