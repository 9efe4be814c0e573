"""Turns the domain's reads of the past (events, feed, retrospective) into public shapes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from api.schemas.history import (
    BaselineMilestone,
    BaselinePublic,
    BaselinesPublic,
    DeliverableReviewPublic,
    GateDecisionRecordPublic,
    MilestoneRetrospectivePublic,
    PhaseGateRetrospectivePublic,
    RebaselinePublic,
    RejectionPublic,
    ReopeningPublic,
    ReschedulePublic,
    RetrospectivePublic,
    RetrospectiveTotals,
    ReviewRoundPublic,
    SignaturePublic,
    SlipCausePublic,
)
from application.history_rows import HistoryRow
from application.reads import ProjectDiff
from domain.baselines import Baseline, slip_against
from domain.events import ProjectEvent
from domain.history import json_data
from domain.project import Project
from domain.retrospective import DeliverableReview, Reopening, Retrospective, Signature


def history_event(
    event: ProjectEvent, position: int | None, correlation_id: str | None = None
) -> dict[str, Any]:
    row = HistoryRow(
        event.originator_version,
        position,
        event.type_name,
        event.actor,
        event.timestamp,
        json_data(event),
        correlation_id,
        event,
    )
    return history_row_event(row)


def history_row_event(row: HistoryRow) -> dict[str, Any]:
    """A history page's or export's row of one event (its event decoded or not)."""
    return {
        "version": row.version,
        "position": row.position,
        "type": row.type_name,
        "actor": row.actor,
        "occurred_at": row.timestamp,
        "correlation_id": row.correlation_id,
        "data": row.data,
    }


def feed_event(
    event: ProjectEvent, position: int, correlation_id: str | None = None
) -> dict[str, Any]:
    return {
        "position": position,
        "project_id": event.originator_id,
        "version": event.originator_version,
        "type": event.type_name,
        "actor": event.actor,
        "occurred_at": event.timestamp,
        "correlation_id": correlation_id,
        "data": json_data(event),
    }


def retrospective_public(retro: Retrospective) -> RetrospectivePublic:
    reviews = {d.id: _review(d) for d in retro.deliverables}
    return RetrospectivePublic(
        project_id=retro.project_id,
        name=retro.name,
        version=retro.version,
        milestones=[
            MilestoneRetrospectivePublic(
                id=m.id,
                name=m.name,
                status=m.status,
                outcome=m.outcome,
                original_baseline_due=m.original_baseline_due,
                baseline_due=m.baseline_due,
                final_due=m.due,
                achieved_at=m.achieved_at,
                achieved_by=m.achieved_by,
                achievement=_signature(m.achievement),
                slip_days=m.slip_days,
                slip_days_from_original=m.slip_days_from_original,
                reschedules=[ReschedulePublic(**vars(r)) for r in m.reschedules],
                rebaselines=[RebaselinePublic(**vars(r)) for r in m.rebaselines],
                reopenings=[_reopening(r) for r in m.reopenings],
                deliverables=[reviews[d] for d in m.deliverable_ids],
                slip_causes=[
                    SlipCausePublic(
                        cause=s.cause,
                        days=s.days,
                        at=s.at,
                        by=s.by,
                        reason=s.reason,
                        chain=list(s.chain),
                    )
                    for s in m.slip_causes
                ],
                slip_days_by_cause=m.slip_days_by_cause,
            )
            for m in retro.milestones
        ],
        deliverables=list(reviews.values()),
        totals=RetrospectiveTotals(**vars(retro.totals)),
        gates=[
            PhaseGateRetrospectivePublic(
                phase_id=g.phase_id,
                name=g.name,
                decisions=[
                    GateDecisionRecordPublic(
                        **{**vars(d), "closings": [vars(c) for c in d.closings]}
                    )
                    for d in g.decisions
                ],
            )
            for g in retro.gates
        ],
    )


def _review(d: DeliverableReview) -> DeliverableReviewPublic:
    return DeliverableReviewPublic(
        id=d.id,
        title=d.title,
        state=d.state,
        review_rounds=d.review_rounds,
        rejections=[
            RejectionPublic(**{**vars(r), "signature": _signature(r.signature)})
            for r in d.rejections
        ],
        reopenings=[_reopening(r) for r in d.reopenings],
        last_evidence_at=d.last_evidence_at,
        approved_at=d.approved_at,
        approved_by=d.approved_by,
        required_approvals=d.required_approvals,
        rounds=[
            ReviewRoundPublic(
                **{
                    **vars(r),
                    "signatures": [_signature(s) for s in r.signatures],
                    "veto": _signature(r.veto),
                }
            )
            for r in d.rounds
        ],
        days_from_last_evidence_to_approval=d.days_from_last_evidence_to_approval,
    )


def _signature(signed: Signature | None) -> SignaturePublic | None:
    return None if signed is None else SignaturePublic(**vars(signed))


def _reopening(reopening: Reopening) -> ReopeningPublic:
    return ReopeningPublic(**{**vars(reopening), "signature": _signature(reopening.signature)})


def baselines_public(project: Project, found: list[Baseline]) -> BaselinesPublic:
    """R19: each baseline with the slip of every milestone it holds against its due now."""
    return BaselinesPublic(
        project_id=project.id,
        baselines=[
            BaselinePublic(
                name=b.name,
                reason=b.reason,
                saved_by=b.actor,
                saved_at=b.saved_at,
                version=b.version,
                milestones=[
                    BaselineMilestone(
                        id=e.milestone_id,
                        name=project.milestone(e.milestone_id).name,
                        baseline_due=e.baseline_due,
                        due=project.milestone(e.milestone_id).due,
                        slip_days=slip_against(e, project.milestone(e.milestone_id).due),
                    )
                    for e in b.entries
                ],
            )
            for b in found
        ],
    )


DIFF_COLUMNS = ("kind", "id", "name", "change", "field", "old", "new", "events")


def diff_json(found: ProjectDiff) -> dict[str, Any]:
    """The diff as its JSON answer (`DiffPublic`)."""
    return {
        "project_id": found.project_id,
        "from": {"given": found.start.given, "version": found.start.version},
        "to": {"given": found.end.given, "version": found.end.version},
        "changes": [
            {
                "kind": c.kind,
                "id": c.id,
                "name": c.name,
                "change": c.change,
                "fields": [{"field": f.field, "old": f.old, "new": f.new} for f in c.fields],
                "events": [vars(cause) for cause in c.causes],
            }
            for c in found.changes
        ],
    }


def diff_rows(found: ProjectDiff) -> Iterator[dict[str, Any]]:
    """The diff as export rows: one per field that changed (one per item added or removed
    without fields), each naming the events that changed the item."""
    for c in found.changes:
        events = "; ".join(
            f"{e.type} by {e.actor} at {e.occurred_at.isoformat()}"
            + (f": {e.reason}" if e.reason else "")
            for e in c.causes
        )
        common = {"kind": c.kind, "id": c.id, "name": c.name, "change": c.change}
        for f in c.fields or (None,):
            yield {
                **common,
                "field": None if f is None else f.field,
                "old": None if f is None else f.old,
                "new": None if f is None else f.new,
                "events": events,
            }
