"""Turns the event-sourced Project into the public shape of `GET /v1/projects/{pid}`: as a
`ProjectPublic` model (`project_public`, for code that reads it) or straight as its JSON
(`project_json`, what the route answers)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from pydantic_core import to_json

from api.presenters_gates import phase_data
from api.schemas import (
    CriterionPublic,
    DeliverablePublic,
    EvidencePublic,
    MemberPublic,
    MilestonePublic,
    PhasePublic,
    PredecessorPublic,
    ProjectPublic,
    iso_utc,
)
from api.schemas.artifacts import ArtifactPublic
from api.schemas.public import GroupPublic
from domain.entities import Deliverable, Evidence, Milestone
from domain.project import Project
from domain.roles import ProjectRole
from domain.rules import Forecast, today_in


def project_public(project: Project, now: datetime, as_of: datetime | None = None) -> ProjectPublic:
    # Health is relative to the instant asked about: today, or the as_of instant.
    today = today_in(project.timezone, as_of or now)
    forecasts = project.forecasts()
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
        phases=[
            PhasePublic.model_validate(phase_data(p, _same)) for p in project.phases_in_order()
        ],
        deliverables=[_deliverable(d) for d in project.deliverables.values()],
        milestones=[_milestone(project, m, today, forecasts) for m in project.milestones.values()],
        groups=[GroupPublic(name=n, members=list(m)) for n, m in sorted(project.groups.items())],
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
        required_approvals=d.required_approvals,
        approvals=list(d.approvals),
        required_groups=list(d.required_groups),
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
                    artifact=None
                    if c.evidence.artifact is None
                    else ArtifactPublic(**c.evidence.artifact.as_dict()),
                ),
            )
            for c in d.criteria.values()
        ],
    )


def _milestone(
    project: Project, m: Milestone, today: date, forecasts: dict[str, Forecast]
) -> MilestonePublic:
    forecast = forecasts.get(str(m.id))
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
        health=project.health(m, today, forecasts),
        deliverable_ids=list(m.deliverable_ids),
        predecessors=[
            PredecessorPublic(id=UUID(p), lag_days=lag) for p, lag in m.predecessors.items()
        ],
        forecast_due=None if forecast is None else forecast.due,
    )


# --- the same answer as plain data, serialised once --------------------------------------------
#
# `GET /v1/projects/{pid}` (and `?as_of=`) answer the whole state: on a large project that is
# thousands of entities, and building a validated pydantic model per entity, then serialising
# the tree, cost more than reading the state. `project_json` builds plain dicts and lists in the
# field order of `ProjectPublic` and serialises them in one call of pydantic's own JSON writer,
# so strings are escaped and UUIDs and dates written exactly as the model writes them; enums go
# as their values (which it writes far faster), timestamps as `iso_utc` writes them, like
# `UtcDatetime` (see `_timestamp`). The route keeps `ProjectPublic` as its `response_model`, so
# the OpenAPI document still describes this answer; tests/unit/test_presenters.py holds the
# bytes equal to `project_public(...).model_dump_json()`.


def project_json(project: Project, now: datetime, as_of: datetime | None = None) -> bytes:
    """The JSON of `project_public(project, now, as_of)`, byte for byte, built without models."""
    today = today_in(project.timezone, as_of or now)
    forecasts = project.forecasts()
    document: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "timezone": project.timezone,
        "risk_window_days": project.risk_window_days,
        "version": project.version,
        "created_at": _timestamp(project.created_on),
        "updated_at": _timestamp(project.modified_on),
        "as_of": None if as_of is None else iso_utc(as_of),
        "members": [
            {"principal": p, "role": ProjectRole(r).value}
            for p, r in sorted(project.members.items())
        ],
        "phases": [phase_data(p, _timestamp) for p in project.phases_in_order()],
        "deliverables": [_deliverable_data(d) for d in project.deliverables.values()],
        "milestones": [
            _milestone_data(project, m, today, forecasts) for m in project.milestones.values()
        ],
        "groups": [{"name": n, "members": list(m)} for n, m in sorted(project.groups.items())],
    }
    return to_json(document)


def _deliverable_data(d: Deliverable) -> dict[str, Any]:
    criteria = [
        {
            "id": c.id,
            "text": c.text,
            "met": c.met,
            "evidence": None if c.evidence is None else _evidence_data(c.evidence),
        }
        for c in d.criteria.values()
    ]
    return {
        "id": d.id,
        "title": d.title,
        "description": d.description,
        "kind": d.kind.value,
        "phase_id": d.phase_id,
        "owner": d.owner,
        "state": d.state.value,
        "submitted_by": d.submitted_by,
        "review_rounds": d.review_rounds,
        "required_approvals": d.required_approvals,
        "approvals": list(d.approvals),
        "required_groups": list(d.required_groups),
        "criteria_met": d.criteria_met,
        "criteria_total": len(criteria),
        "criteria": criteria,
    }


def _evidence_data(e: Evidence) -> dict[str, Any]:
    return {
        "evidence": e.evidence,
        "sha256": e.sha256,
        "recorded_by": e.recorded_by,
        "recorded_at": _timestamp(e.recorded_at),
        "artifact": None if e.artifact is None else e.artifact.as_dict(),
    }


def _milestone_data(
    project: Project, m: Milestone, today: date, forecasts: dict[str, Forecast]
) -> dict[str, Any]:
    forecast = forecasts.get(str(m.id))
    return {
        "id": m.id,
        "name": m.name,
        "phase_id": m.phase_id,
        "due": m.due,
        "baseline_due": m.baseline_due,
        "original_baseline_due": m.original_baseline_due,
        "slip_days": m.slip_days,
        "achieved": m.achieved,
        "status": m.status.value,
        "achieved_at": None if m.achieved_at is None else _timestamp(m.achieved_at),
        "achieved_by": m.achieved_by,
        "health": project.health(m, today, forecasts).value,
        "deliverable_ids": list(m.deliverable_ids),
        "predecessors": [{"id": UUID(p), "lag_days": lag} for p, lag in m.predecessors.items()],
        "forecast_due": None if forecast is None else forecast.due,
    }


def _same(value: datetime) -> datetime:
    return value


def _timestamp(value: datetime) -> datetime | str:
    """What `to_json` writes as `iso_utc(value)`: the datetime itself where pydantic's writer
    gives that very text (UTC, a fraction of a second, a four-digit year), at a fifth of the
    cost of formatting it here; `iso_utc` for the rest (pydantic writes a whole second without
    ".000000", and other zones with their offset)."""
    if value.tzinfo is UTC and value.microsecond and value.year >= 1000:
        return value
    return iso_utc(value)
