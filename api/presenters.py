"""Turns the event-sourced Project into the public shape of `GET /v1/projects/{pid}`."""

from __future__ import annotations

from datetime import date, datetime

from api.schemas import (
    CriterionPublic,
    DeliverablePublic,
    EvidencePublic,
    MemberPublic,
    MilestonePublic,
    PhasePublic,
    ProjectPublic,
)
from domain.entities import Deliverable, Milestone
from domain.health import today_in
from domain.project import Project


def project_public(project: Project, now: datetime, as_of: datetime | None = None) -> ProjectPublic:
    # Health is relative to the instant asked about: today, or the as_of instant.
    today = today_in(project.timezone, as_of or now)
    return ProjectPublic(
        id=project.id,
        name=project.name,
        description=project.description,
        timezone=project.timezone,
        risk_window_days=project.risk_window_days,
        version=project.version,
        created_at=project.created_on,
        updated_at=project.modified_on,
        as_of=as_of,
        members=[MemberPublic(principal=p, role=r) for p, r in sorted(project.members.items())],
        phases=[PhasePublic(id=p.id, name=p.name) for p in project.phases.values()],
        deliverables=[_deliverable(d) for d in project.deliverables.values()],
        milestones=[_milestone(project, m, today) for m in project.milestones.values()],
    )


def _deliverable(d: Deliverable) -> DeliverablePublic:
    return DeliverablePublic(
        id=d.id,
        title=d.title,
        description=d.description,
        kind=d.kind,
        phase_id=d.phase_id,
        owner=d.owner,
        state=d.state,
        submitted_by=d.submitted_by,
        review_rounds=d.review_rounds,
        criteria_met=d.criteria_met,
        criteria_total=len(d.criteria),
        criteria=[
            CriterionPublic(
                id=c.id,
                text=c.text,
                met=c.met,
                evidence=None
                if c.evidence is None
                else EvidencePublic(
                    evidence=c.evidence.evidence,
                    sha256=c.evidence.sha256,
                    recorded_by=c.evidence.recorded_by,
                    recorded_at=c.evidence.recorded_at,
                ),
            )
            for c in d.criteria.values()
        ],
    )


def _milestone(project: Project, m: Milestone, today: date) -> MilestonePublic:
    return MilestonePublic(
        id=m.id,
        name=m.name,
        phase_id=m.phase_id,
        due=m.due,
        baseline_due=m.baseline_due,
        original_baseline_due=m.original_baseline_due,
        slip_days=m.slip_days,
        achieved=m.achieved,
        status=m.status,
        achieved_at=m.achieved_at,
        achieved_by=m.achieved_by,
        health=project.health(m, today),
        deliverable_ids=list(m.deliverable_ids),
    )
