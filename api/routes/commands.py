"""Command routes: parse the body, make one ledger call, answer ids + version + position."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from api import idempotency
from api.access import Contributor, Creator, Manager, ProjectAccess, Reviewer
from api.deps import ContainerDep, IfMatch
from api.idempotency import IdempotentRoute
from api.schemas import (
    Achievement,
    Approval,
    CommandResponse,
    CriterionCreate,
    DeliverableCreate,
    DeliverableUpdate,
    EvidenceRecord,
    MemberSet,
    MilestoneCreate,
    PhaseCreate,
    ProjectCreate,
    Reschedule,
    Submission,
    WithReason,
)
from application.ledger import CommandResult
from domain.errors import InvalidValueError
from domain.project import UNSET, Project

router = APIRouter(prefix="/v1/projects", tags=["commands"], route_class=IdempotentRoute)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/problem+json": {}}}
    for status, text in {
        401: "missing or unknown token",
        403: "the caller's role does not allow this",
        404: "no such project (or not visible to the caller), or no such entity",
        409: "a rule (R1–R14) refuses the command; `errors` lists every reason",
        412: "If-Match names a version the project is no longer at",
        422: "malformed body, unknown or server-owned field, or value out of bounds",
        503: "the database is unavailable; retry after Retry-After",
    }.items()
}
_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": CommandResponse}, **_ERRORS}
_CREATED: dict[int | str, dict[str, Any]] = {201: {"model": CommandResponse}, **_ERRORS}

Act = Callable[[Project], dict[str, UUID] | None]


def answer(result: CommandResult, *, created: str | None = None) -> JSONResponse:
    """The command's response; `created` names the id whose resource a 201 points at."""
    body: dict[str, Any] = {
        "project_id": str(result.project_id),
        "version": result.version,
        "position": result.position,
        "changed": result.changed,
        **{name: str(value) for name, value in result.ids.items()},
    }
    headers = {"ETag": f'"{result.version}"'}
    if created is None:
        return JSONResponse(body, status_code=200, headers=headers)
    location = f"/v1/projects/{result.project_id}"
    if created != "project_id":
        location += f"#{created}={result.ids[created]}"
    headers["Location"] = location
    return JSONResponse(body, status_code=201, headers=headers)


def run(
    container: ContainerDep,
    access: ProjectAccess,
    if_match: int | None,
    act: Act,
    created: str | None = None,
) -> JSONResponse:
    """Run `act` on the project as the caller the route's access rule let in."""
    result = container.ledger.execute(
        access.project_id,
        act,
        actor=access.actor,
        needs=access.needs,
        expected_version=if_match,
        receipt=idempotency.receipt(lambda r: answer(r, created=created)),
    )
    return answer(result, created=created)


@router.post("", status_code=201, responses=_CREATED, summary="Create a project")
def create_project(body: ProjectCreate, container: ContainerDep, caller: Creator) -> Response:
    result = container.ledger.create_project(
        name=body.name,
        description=body.description,
        timezone=body.timezone,
        risk_window_days=body.risk_window_days,
        actor=caller.name,
        receipt=idempotency.receipt(lambda r: answer(r, created="project_id")),
    )
    return answer(result, created="project_id")


@router.post("/{project_id}/members", responses=_RESPONSES, summary="Add a member or change a role")
def set_member(
    project_id: UUID, body: MemberSet, container: ContainerDep, access: Manager, if_match: IfMatch
) -> Response:
    if container.principals.get(body.principal) is None:
        raise InvalidValueError("principal", f"no principal named {body.principal!r}")
    return run(
        container,
        access,
        if_match,
        lambda p: p.set_member(body.principal, body.role, actor=access.actor),
    )


@router.delete("/{project_id}/members/{principal}", responses=_RESPONSES, summary="Remove a member")
def remove_member(
    project_id: UUID, principal: str, container: ContainerDep, access: Manager, if_match: IfMatch
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: p.remove_member(principal, actor=access.actor),
    )


@router.post("/{project_id}/phases", status_code=201, responses=_CREATED, summary="Add a phase")
def add_phase(
    project_id: UUID, body: PhaseCreate, container: ContainerDep, access: Manager, if_match: IfMatch
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: {"phase_id": p.add_phase(body.name, actor=access.actor)},
        created="phase_id",
    )


@router.post(
    "/{project_id}/deliverables",
    status_code=201,
    responses=_CREATED,
    summary="Define a deliverable",
)
def define_deliverable(
    project_id: UUID,
    body: DeliverableCreate,
    container: ContainerDep,
    access: Contributor,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: {
            "deliverable_id": p.define_deliverable(
                title=body.title,
                phase_id=body.phase_id,
                kind=body.kind,
                description=body.description,
                owner=body.owner,
                actor=access.actor,
            )
        },
        created="deliverable_id",
    )


@router.patch(
    "/{project_id}/deliverables/{deliverable_id}",
    responses=_RESPONSES,
    summary="Change a deliverable's title, description, owner, phase or kind",
)
def update_deliverable(
    project_id: UUID,
    deliverable_id: UUID,
    body: DeliverableUpdate,
    container: ContainerDep,
    access: Contributor,
    if_match: IfMatch,
) -> Response:
    given = body.model_fields_set
    changes: dict[str, Any] = {
        name: getattr(body, name) if name in given else UNSET
        for name in ("title", "description", "owner", "phase_id", "kind")
    }
    for name in ("title", "description", "phase_id", "kind"):
        if changes[name] is None:  # only owner may be cleared with null
            changes[name] = UNSET
    return run(
        container,
        access,
        if_match,
        lambda p: p.update_deliverable(deliverable_id, **changes, actor=access.actor),
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/criteria",
    status_code=201,
    responses=_CREATED,
    summary="Add a completion criterion",
)
def add_criterion(
    project_id: UUID,
    deliverable_id: UUID,
    body: CriterionCreate,
    container: ContainerDep,
    access: Contributor,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: {
            "deliverable_id": deliverable_id,
            "criterion_id": p.add_criterion(deliverable_id, body.text, actor=access.actor),
        },
        created="criterion_id",
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/criteria/{criterion_id}/evidence",
    responses=_RESPONSES,
    summary="Record evidence that a criterion is met",
)
def record_evidence(
    project_id: UUID,
    deliverable_id: UUID,
    criterion_id: UUID,
    body: EvidenceRecord,
    container: ContainerDep,
    access: Contributor,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.record_evidence(
            deliverable_id, criterion_id, body.evidence, body.sha256, actor=access.actor
        )
        return {"deliverable_id": deliverable_id, "criterion_id": criterion_id}

    return run(container, access, if_match, act)


def _on_deliverable(deliverable_id: UUID, command: Callable[[Project], None]) -> Act:
    def act(p: Project) -> dict[str, UUID]:
        command(p)
        return {"deliverable_id": deliverable_id}

    return act


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/submit",
    responses=_RESPONSES,
    summary="Submit for review: needs every criterion met (R4)",
)
def submit(
    project_id: UUID,
    deliverable_id: UUID,
    body: Submission,
    container: ContainerDep,
    access: Contributor,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        _on_deliverable(
            deliverable_id, lambda p: p.submit(deliverable_id, body.note, actor=access.actor)
        ),
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/approve",
    responses=_RESPONSES,
    summary="Approve a deliverable in review; not by its submitter (R5)",
)
def approve(
    project_id: UUID,
    deliverable_id: UUID,
    body: Approval,
    container: ContainerDep,
    access: Reviewer,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        _on_deliverable(
            deliverable_id, lambda p: p.approve(deliverable_id, body.comment, actor=access.actor)
        ),
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/reject",
    responses=_RESPONSES,
    summary="Reject a deliverable in review, with a reason (R5)",
)
def reject(
    project_id: UUID,
    deliverable_id: UUID,
    body: WithReason,
    container: ContainerDep,
    access: Reviewer,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        _on_deliverable(
            deliverable_id, lambda p: p.reject(deliverable_id, body.reason, actor=access.actor)
        ),
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/reopen",
    responses=_RESPONSES,
    summary="Reopen a deliverable in review or approved back to draft (R6)",
)
def reopen_deliverable(
    project_id: UUID,
    deliverable_id: UUID,
    body: WithReason,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        _on_deliverable(
            deliverable_id,
            lambda p: p.reopen_deliverable(deliverable_id, body.reason, actor=access.actor),
        ),
    )


@router.post(
    "/{project_id}/deliverables/{deliverable_id}/cancel",
    responses=_RESPONSES,
    summary="Cancel a deliverable, with a reason (R10)",
)
def cancel_deliverable(
    project_id: UUID,
    deliverable_id: UUID,
    body: WithReason,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        _on_deliverable(
            deliverable_id,
            lambda p: p.cancel_deliverable(deliverable_id, body.reason, actor=access.actor),
        ),
    )


@router.post(
    "/{project_id}/milestones",
    status_code=201,
    responses=_CREATED,
    summary="Define a milestone with its due date and proving deliverables",
)
def define_milestone(
    project_id: UUID,
    body: MilestoneCreate,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: {
            "milestone_id": p.define_milestone(
                name=body.name,
                phase_id=body.phase_id,
                due=body.due,
                deliverable_ids=body.deliverable_ids,
                actor=access.actor,
            )
        },
        created="milestone_id",
    )


@router.put(
    "/{project_id}/milestones/{milestone_id}/deliverables/{deliverable_id}",
    responses=_RESPONSES,
    summary="Link a deliverable to a milestone (R9)",
)
def link(
    project_id: UUID,
    milestone_id: UUID,
    deliverable_id: UUID,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.link(milestone_id, deliverable_id, actor=access.actor)
        return {"milestone_id": milestone_id, "deliverable_id": deliverable_id}

    return run(container, access, if_match, act)


@router.delete(
    "/{project_id}/milestones/{milestone_id}/deliverables/{deliverable_id}",
    responses=_RESPONSES,
    summary="Unlink a deliverable from a milestone (R9)",
)
def unlink(
    project_id: UUID,
    milestone_id: UUID,
    deliverable_id: UUID,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.unlink(milestone_id, deliverable_id, actor=access.actor)
        return {"milestone_id": milestone_id, "deliverable_id": deliverable_id}

    return run(container, access, if_match, act)


@router.post(
    "/{project_id}/milestones/{milestone_id}/reschedule",
    responses=_RESPONSES,
    summary="Move a milestone's due date, with a reason (R7)",
)
def reschedule(
    project_id: UUID,
    milestone_id: UUID,
    body: Reschedule,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.reschedule(milestone_id, body.due, body.reason, actor=access.actor)
        return {"milestone_id": milestone_id}

    return run(container, access, if_match, act)


@router.post(
    "/{project_id}/milestones/{milestone_id}/achieve",
    responses=_RESPONSES,
    summary="Record a milestone as achieved (R3)",
)
def achieve(
    project_id: UUID,
    milestone_id: UUID,
    body: Achievement,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.achieve(milestone_id, body.note, actor=access.actor)
        return {"milestone_id": milestone_id}

    return run(container, access, if_match, act)


@router.post(
    "/{project_id}/milestones/{milestone_id}/reopen",
    responses=_RESPONSES,
    summary="Reopen an achieved milestone, with a reason (R8)",
)
def reopen_milestone(
    project_id: UUID,
    milestone_id: UUID,
    body: WithReason,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.reopen_milestone(milestone_id, body.reason, actor=access.actor)
        return {"milestone_id": milestone_id}

    return run(container, access, if_match, act)


@router.post(
    "/{project_id}/milestones/{milestone_id}/cancel",
    responses=_RESPONSES,
    summary="Cancel a milestone that is not achieved, with a reason (R10)",
)
def cancel_milestone(
    project_id: UUID,
    milestone_id: UUID,
    body: WithReason,
    container: ContainerDep,
    access: Manager,
    if_match: IfMatch,
) -> Response:
    def act(p: Project) -> dict[str, UUID]:
        p.cancel_milestone(milestone_id, body.reason, actor=access.actor)
        return {"milestone_id": milestone_id}

    return run(container, access, if_match, act)


@router.post(
    "/{project_id}/baselines",
    responses=_RESPONSES,
    summary="Re-baseline every open milestone to its current due date (R7)",
)
def rebaseline(
    project_id: UUID, body: WithReason, container: ContainerDep, access: Manager, if_match: IfMatch
) -> Response:
    return run(
        container,
        access,
        if_match,
        lambda p: p.rebaseline(body.reason, actor=access.actor),
    )
