"""The schedule view's handlers: how each event changes the rows of its page."""

from __future__ import annotations

from collections.abc import Sequence
from functools import singledispatchmethod
from typing import Any
from uuid import UUID

import psycopg

from domain import events as ev
from domain import rules
from domain.states import MilestoneStatus
from projections.base import View, fold_page
from projections.schedule.page import PageRows, as_date, as_uuid
from projections.schedule.tables import (
    CRITERIA,
    DELIVERABLES,
    DEPENDENCIES,
    LINKS,
    MILESTONES,
    PHASES,
    PROJECTS,
    TABLES,
)
from projections.tables import Row, ddl_of, names_of
from projections.writes import DuplicateRowError

Cursor = psycopg.Cursor[Any]


class ScheduleView(View):
    """Applies a page set-based: the rows its events change are loaded once, changed in
    Python in position order with the rules of the per-event statements they replace, and
    written with one statement per table (see `projections.writes`)."""

    name = "schedule"
    tables = names_of(TABLES)
    ddl = ddl_of(TABLES)

    def process_page(self, cur: Cursor, events: Sequence[tuple[ev.ProjectEvent, int]]) -> None:
        fold_page(cur, events, SchedulePage())


class SchedulePage(PageRows):
    """A page of events folded into the schedule's rows: one handler per event class."""

    @singledispatchmethod
    def apply(self, event: ev.ProjectEvent, position: int) -> None:
        """An event the schedule does not show (a member's, a description) changes nothing."""

    @apply.register
    def _project_created(self, event: ev.ProjectCreated, position: int) -> None:
        if event.originator_id in self.projects:
            raise DuplicateRowError(f"schedule_projects: {event.originator_id} exists already")
        self.projects[event.originator_id] = PROJECTS.row(
            project_id=event.originator_id,
            name=event.name,
            timezone=event.timezone,
            risk_window_days=event.risk_window_days,
            version=event.originator_version,
            last_position=position,
        )

    @apply.register
    def _phase_added(self, event: ev.PhaseAdded, position: int) -> None:
        p = event.originator_id
        nth = self.phases_added.get(p, 0) + 1
        self.phases_added[p] = nth
        self.phases.append(
            PHASES.row(project_id=p, phase_id=event.phase_id, name=event.name, ordinal=nth)
        )

    @apply.register
    def _phases_reordered(self, event: ev.PhasesReordered, position: int) -> None:
        self.phase_orders[event.originator_id] = list(event.phase_ids)

    @apply.register
    def _deliverable_defined(self, event: ev.DeliverableDefined, position: int) -> None:
        self.deliverables.insert(
            DELIVERABLES.row(
                project_id=event.originator_id,
                deliverable_id=event.deliverable_id,
                phase_id=event.phase_id,
                title=event.title,
                kind=event.kind,
                state=rules.DELIVERABLE_START.value,
                owner=event.owner,
                criteria_total=0,
                criteria_met=0,
                required_approvals=1,
                approvals=[],
            )
        )

    def _deliverable(self, event: ev.DeliverableEvent) -> Row | None:
        return self.deliverables.get((event.originator_id, event.deliverable_id))

    @apply.register
    def _retitled(self, event: ev.DeliverableRetitled, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.title = event.title

    @apply.register
    def _owner_assigned(self, event: ev.DeliverableOwnerAssigned, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.owner = event.owner

    @apply.register
    def _moved_to_phase(self, event: ev.DeliverableMovedToPhase, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.phase_id = event.phase_id

    @apply.register
    def _kind_changed(self, event: ev.DeliverableKindChanged, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.kind = event.kind

    @apply.register
    def _state_changed(self, event: ev.DeliverableMoved, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.state = event.transition.target.value
            # R21, R22: a submission starts a round, a rejection or reopen ends one.
            if isinstance(event, ev.DeliverableApproved):
                deliverable.approvals = event.round_signers
            elif not isinstance(event, ev.DeliverableCancelled):
                deliverable.approvals = []

    @apply.register
    def _quorum_set(self, event: ev.DeliverableQuorumSet, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.required_approvals = event.required_approvals

    @apply.register
    def _approval_signed(self, event: ev.DeliverableApprovalSigned, position: int) -> None:
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.approvals = [*deliverable.approvals, event.actor]

    @apply.register
    def _criterion_added(self, event: ev.CriterionAdded, position: int) -> None:
        p = event.originator_id
        self.criteria.insert(
            CRITERIA.row(
                project_id=p,
                criterion_id=event.criterion_id,
                deliverable_id=event.deliverable_id,
                met=False,
            )
        )
        if (deliverable := self._deliverable(event)) is not None:
            deliverable.criteria_total += 1

    @apply.register
    def _evidence_recorded(self, event: ev.EvidenceRecorded, position: int) -> None:
        # R6: evidence recorded again replaces the earlier one; the criterion was met already.
        p = event.originator_id
        criterion = self.criteria.get((p, event.criterion_id))
        if criterion is None or criterion.met:
            return
        criterion.met = True
        deliverable = self.deliverables.get((p, criterion.deliverable_id))
        if deliverable is not None:
            deliverable.criteria_met += 1

    @apply.register
    def _milestone_defined(self, event: ev.MilestoneDefined, position: int) -> None:
        p, m = event.originator_id, event.milestone_id
        for ordinal, deliverable_id in enumerate(event.deliverable_ids, start=1):
            self.links.insert(
                LINKS.row(
                    project_id=p,
                    milestone_id=m,
                    deliverable_id=as_uuid(deliverable_id),
                    ordinal=ordinal,
                )
            )
        self.milestones.insert(
            MILESTONES.row(
                project_id=p,
                milestone_id=m,
                phase_id=event.phase_id,
                name=event.name,
                due=event.due,
                baseline_due=event.due,
                original_baseline_due=event.due,
                status=rules.MILESTONE_START.value,
                achieved_at=None,
                achieved_by=None,
                defined_at=event.timestamp,
            )
        )

    @apply.register
    def _linked(self, event: ev.DeliverableLinked, position: int) -> None:
        # Every link of the milestone was loaded (`read`), or inserted by this page.
        milestone = (event.originator_id, event.milestone_id)
        last = max(
            (link.ordinal for key, link in self.links.now.items() if link and key[:2] == milestone),
            default=0,
        )
        self.links.insert(
            LINKS.row(
                project_id=event.originator_id,
                milestone_id=event.milestone_id,
                deliverable_id=event.deliverable_id,
                ordinal=last + 1,
            )
        )

    @apply.register
    def _unlinked(self, event: ev.DeliverableUnlinked, position: int) -> None:
        self.links.delete((event.originator_id, event.milestone_id, event.deliverable_id))

    def _milestone(self, event: ev.MilestoneEvent) -> Row | None:
        return self.milestones.get((event.originator_id, event.milestone_id))

    @apply.register
    def _rescheduled(self, event: ev.MilestoneRescheduled, position: int) -> None:
        if (milestone := self._milestone(event)) is not None:
            milestone.due = event.due

    @apply.register
    def _status_changed(self, event: ev.MilestoneMoved, position: int) -> None:
        if (milestone := self._milestone(event)) is None:
            return
        status = event.transition.target
        milestone.status = status.value
        # Only an achieved milestone says when and by whom it was achieved.
        if status is MilestoneStatus.ACHIEVED:
            milestone.achieved_at, milestone.achieved_by = event.timestamp, event.actor
        elif status is MilestoneStatus.NOT_ACHIEVED:
            milestone.achieved_at = milestone.achieved_by = None

    @apply.register
    def _dependency_added(self, event: ev.MilestoneDependencyAdded, position: int) -> None:
        self.dependencies.insert(
            DEPENDENCIES.row(
                project_id=event.originator_id,
                milestone_id=event.milestone_id,
                predecessor_id=event.predecessor_id,
                lag_days=event.lag_days,
            )
        )

    def _dependency(
        self, event: ev.MilestoneDependencyLagChanged | ev.MilestoneDependencyRemoved
    ) -> tuple[UUID, UUID, UUID]:
        return (event.originator_id, event.milestone_id, event.predecessor_id)

    @apply.register
    def _lag_changed(self, event: ev.MilestoneDependencyLagChanged, position: int) -> None:
        if (dependency := self.dependencies.get(self._dependency(event))) is not None:
            dependency.lag_days = event.lag_days

    @apply.register
    def _dependency_removed(self, event: ev.MilestoneDependencyRemoved, position: int) -> None:
        self.dependencies.delete(self._dependency(event))

    @apply.register
    def _rebaselined(self, event: ev.ProjectRebaselined, position: int) -> None:
        for milestone_id, due in event.baselines.items():
            milestone = self.milestones.get((event.originator_id, as_uuid(milestone_id)))
            if milestone is not None:
                milestone.baseline_due = as_date(due)
