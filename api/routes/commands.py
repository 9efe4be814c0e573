"""Command routes, one line of `COMMANDS` each: method and path, body, the application command.

Every route is the same three steps, written once in `_endpoint`: the body is parsed (FastAPI,
from the route's schema), the request's `Admission` (the caller let in to the project for the
role the command declares, with its If-Match and Idempotency-Key) is taken from the route's one
access dependency, and one named command of the `Ledger` is called with the path's ids and the
body's fields; its plain result is answered by `api.answers.answer`.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from api.access import PROJECT_WRITERS, Creator
from api.answers import answer
from api.bootstrap import Container
from api.deps import ContainerDep
from api.idempotency import IdempotentRoute, answer_key
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
from application.access import Admission
from application.commands import role_needed
from application.ledger import Ledger
from application.results import CommandResult

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


def _fields(body: BaseModel) -> dict[str, Any]:
    """A body's fields as the command's keyword arguments (their Python values)."""
    return {name: getattr(body, name) for name in type(body).model_fields}


def _changes(body: BaseModel) -> dict[str, Any]:
    """PATCH: only the fields the body gives; null clears only the owner."""
    return {
        name: value
        for name, value in _fields(body).items()
        if name in body.model_fields_set and (value is not None or name == "owner")
    }


@dataclass(frozen=True)
class Command:
    """One command route: `name` is the operation's (its OpenAPI operationId starts with it)."""

    method: str
    path: str
    name: str
    command: Callable[..., CommandResult]
    summary: str
    body: type[BaseModel] | None = None
    arguments: Callable[[BaseModel], dict[str, Any]] = _fields
    created: bool = False
    path_ids: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        ids = tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))
        object.__setattr__(self, "path_ids", ids)


COMMANDS = (
    Command("POST", "/{project_id}/members", "set_member", Ledger.set_member,
            "Add a member or change a role", MemberSet),
    Command("DELETE", "/{project_id}/members/{principal}", "remove_member",
            Ledger.remove_member, "Remove a member"),
    Command("POST", "/{project_id}/phases", "add_phase", Ledger.add_phase, "Add a phase",
            PhaseCreate, created=True),
    Command("POST", "/{project_id}/deliverables", "define_deliverable",
            Ledger.define_deliverable, "Define a deliverable", DeliverableCreate, created=True),
    Command("PATCH", "/{project_id}/deliverables/{deliverable_id}", "update_deliverable",
            Ledger.update_deliverable,
            "Change a deliverable's title, description, owner, phase or kind",
            DeliverableUpdate, _changes),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/criteria", "add_criterion",
            Ledger.add_criterion, "Add a completion criterion", CriterionCreate, created=True),
    Command("POST",
            "/{project_id}/deliverables/{deliverable_id}/criteria/{criterion_id}/evidence",
            "record_evidence", Ledger.record_evidence,
            "Record evidence that a criterion is met", EvidenceRecord),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/submit", "submit",
            Ledger.submit_deliverable, "Submit for review: needs every criterion met (R4)",
            Submission),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/approve", "approve",
            Ledger.approve_deliverable,
            "Approve a deliverable in review; not by its submitter (R5)", Approval),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/reject", "reject",
            Ledger.reject_deliverable, "Reject a deliverable in review, with a reason (R5)",
            WithReason),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/reopen", "reopen_deliverable",
            Ledger.reopen_deliverable,
            "Reopen a deliverable in review or approved back to draft (R6)", WithReason),
    Command("POST", "/{project_id}/deliverables/{deliverable_id}/cancel", "cancel_deliverable",
            Ledger.cancel_deliverable, "Cancel a deliverable, with a reason (R10)", WithReason),
    Command("POST", "/{project_id}/milestones", "define_milestone", Ledger.define_milestone,
            "Define a milestone with its due date and proving deliverables", MilestoneCreate,
            created=True),
    Command("PUT", "/{project_id}/milestones/{milestone_id}/deliverables/{deliverable_id}",
            "link", Ledger.link_deliverable, "Link a deliverable to a milestone (R9)"),
    Command("DELETE", "/{project_id}/milestones/{milestone_id}/deliverables/{deliverable_id}",
            "unlink", Ledger.unlink_deliverable, "Unlink a deliverable from a milestone (R9)"),
    Command("POST", "/{project_id}/milestones/{milestone_id}/reschedule", "reschedule",
            Ledger.reschedule_milestone, "Move a milestone's due date, with a reason (R7)",
            Reschedule),
    Command("POST", "/{project_id}/milestones/{milestone_id}/achieve", "achieve",
            Ledger.achieve_milestone, "Record a milestone as achieved (R3)", Achievement),
    Command("POST", "/{project_id}/milestones/{milestone_id}/reopen", "reopen_milestone",
            Ledger.reopen_milestone, "Reopen an achieved milestone, with a reason (R8)",
            WithReason),
    Command("POST", "/{project_id}/milestones/{milestone_id}/cancel", "cancel_milestone",
            Ledger.cancel_milestone,
            "Cancel a milestone that is not achieved, with a reason (R10)", WithReason),
    Command("POST", "/{project_id}/baselines", "rebaseline", Ledger.rebaseline,
            "Re-baseline every open milestone to its current due date (R7)", WithReason),
)  # fmt: skip


def _endpoint(route: Command) -> Callable[..., Response]:
    """The route's function: FastAPI reads its signature (path ids, body, the admission)."""

    def call(**given: Any) -> Response:
        container: Container = given.pop("container")
        admitted: Admission = given.pop("admitted")
        del given["project_id"]  # the admission's
        body = given.pop("body", None)
        arguments = {} if body is None else route.arguments(body)
        return answer(route.command(container.ledger, admitted, **given, **arguments))

    keyword = inspect.Parameter.KEYWORD_ONLY
    access = Depends(PROJECT_WRITERS[role_needed(route.command)])
    parameters = [inspect.Parameter(n, keyword, annotation=_path_type(n)) for n in route.path_ids]
    if route.body is not None:
        parameters.append(inspect.Parameter("body", keyword, annotation=route.body))
    parameters.append(inspect.Parameter("container", keyword, annotation=ContainerDep))
    parameters.append(
        inspect.Parameter("admitted", keyword, annotation=Annotated[Admission, access])
    )
    call.__name__ = call.__qualname__ = route.name
    call.__signature__ = inspect.Signature(parameters, return_annotation=Response)  # type: ignore[attr-defined]
    return call


def _path_type(name: str) -> type:
    return str if name == "principal" else UUID


@router.post(
    "",
    status_code=201,
    responses={201: {"model": CommandResponse}, **_ERRORS},
    summary="Create a project",
)
def create_project(
    request: Request, body: ProjectCreate, container: ContainerDep, caller: Creator
) -> Response:
    result = container.ledger.create_project(
        caller, **_fields(body), answer_key=answer_key(request)
    )
    return answer(result)


for _route in COMMANDS:
    router.add_api_route(
        _route.path,
        _endpoint(_route),
        methods=[_route.method],
        status_code=201 if _route.created else None,
        responses={201 if _route.created else 200: {"model": CommandResponse}, **_ERRORS},
        summary=_route.summary,
    )
