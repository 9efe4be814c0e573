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
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from adapters.postgres.signatures import SigningRefusedError
from api.access import PROJECT_WRITERS, Creator
from api.answers import answer
from api.bootstrap import Container
from api.deps import ContainerDep
from api.idempotency import IdempotentRoute, answer_key
from api.problems import ProblemError
from api.schemas import (
    Achievement,
    Approval,
    BaselineCreate,
    CommandResponse,
    ConditionClosing,
    CriterionCreate,
    DeliverableCreate,
    DeliverableUpdate,
    DependencySet,
    EvidenceRecord,
    ExitGate,
    GateDecisionCreate,
    GroupSet,
    MemberSet,
    MilestoneCreate,
    PhaseCreate,
    PhaseOrder,
    ProjectCreate,
    Quorum,
    Rejection,
    Reopening,
    Reschedule,
    Submission,
    WithReason,
)
from api.warnings import due_warnings
from application.access import Admission
from application.commands import Declaration, declaration
from application.ledger import Ledger
from application.results import CommandResult

router = APIRouter(prefix="/v1/projects", tags=["commands"], route_class=IdempotentRoute)

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"description": text, "content": {"application/problem+json": {}}}
    for status, text in {
        401: "missing or unknown token; for a signing command, a missing or wrong signing"
        " password or signing locked (R23): nothing is stored",
        403: "the caller's role does not allow this",
        404: "no such project (or not visible to the caller), or no such entity",
        409: "a rule (R1–R27) refuses the command; `errors` lists every reason",
        412: "If-Match names a version the project is no longer at",
        422: "malformed body, unknown or server-owned field, or value out of bounds",
        503: "the database is unavailable; retry after Retry-After",
    }.items()
}


def _fields(body: BaseModel) -> dict[str, Any]:
    """A body's fields as the command's keyword arguments (their Python values)."""
    return {name: getattr(body, name) for name in type(body).model_fields}


def _signed(body: BaseModel) -> dict[str, Any]:
    """A signing command's fields but its password, which only `_endpoint` reads (R23)."""
    return {name: value for name, value in _fields(body).items() if name != "password"}


def _changes(body: BaseModel) -> dict[str, Any]:
    """PATCH: only the fields the body gives; null clears only the owner."""
    return {
        name: value
        for name, value in _fields(body).items()
        if name in body.model_fields_set and (value is not None or name == "owner")
    }


@dataclass(frozen=True)
class Command:
    """One command route: its method and path (under /v1/projects/{project_id}), the name of its
    operation (its OpenAPI operationId starts with it), the application command it calls, and
    its body with how the body becomes the command's arguments. The role, the ids, what it
    creates (201) and the summary are the command's own declaration (`application.commands`)."""

    method: str
    path: str
    name: str
    command: Callable[..., CommandResult]
    body: type[BaseModel] | None = None
    arguments: Callable[[BaseModel], dict[str, Any]] = _fields

    @property
    def signs(self) -> bool:
        """A signing command (R23): its body carries the signer's password."""
        return self.body is not None and "password" in self.body.model_fields

    @property
    def declared(self) -> Declaration:
        return declaration(self.command)

    @property
    def path_ids(self) -> list[str]:
        return [part[1:-1] for part in self.full_path.split("/") if part.startswith("{")]

    @property
    def full_path(self) -> str:
        return "/{project_id}" + (f"/{self.path}" if self.path else "")


D = "deliverables/{deliverable_id}"
M = "milestones/{milestone_id}"
P = "predecessors/{predecessor_id}"
G = "phases/{phase_id}/gate"

COMMANDS = (
    Command("POST", "members", "set_member", Ledger.set_member, MemberSet),
    Command("DELETE", "members/{principal}", "remove_member", Ledger.remove_member),
    Command("PUT", "groups/{name}", "set_group", Ledger.set_group, GroupSet),
    Command("POST", "phases", "add_phase", Ledger.add_phase, PhaseCreate),
    Command("PUT", "phase-order", "reorder_phases", Ledger.reorder_phases, PhaseOrder),
    Command("PUT", G, "set_exit_gate", Ledger.set_exit_gate, ExitGate),
    Command("POST", f"{G}/decisions", "decide_gate", Ledger.decide_gate, GateDecisionCreate,
            _signed),
    Command("POST", f"{G}/conditions/{{condition_id}}/close", "close_gate_condition",
            Ledger.close_gate_condition, ConditionClosing),
    Command("POST", "deliverables", "define_deliverable",
            Ledger.define_deliverable, DeliverableCreate),
    Command("PATCH", D, "update_deliverable",
            Ledger.update_deliverable, DeliverableUpdate, _changes),
    Command("POST", f"{D}/criteria", "add_criterion", Ledger.add_criterion, CriterionCreate),
    Command("POST", f"{D}/criteria/{{criterion_id}}/evidence", "record_evidence",
            Ledger.record_evidence, EvidenceRecord),
    Command("POST", f"{D}/submit", "submit", Ledger.submit_deliverable, Submission),
    Command("PUT", f"{D}/quorum", "set_required_approvals",
            Ledger.set_required_approvals, Quorum),
    Command("POST", f"{D}/approve", "approve", Ledger.approve_deliverable, Approval, _signed),
    Command("POST", f"{D}/reject", "reject", Ledger.reject_deliverable, Rejection, _signed),
    Command("POST", f"{D}/reopen", "reopen_deliverable", Ledger.reopen_deliverable, Reopening,
            _signed),
    Command("POST", f"{D}/cancel", "cancel_deliverable", Ledger.cancel_deliverable, WithReason),
    Command("POST", "milestones", "define_milestone", Ledger.define_milestone, MilestoneCreate),
    Command("PUT", f"{M}/{D}", "link", Ledger.link_deliverable),
    Command("DELETE", f"{M}/{D}", "unlink", Ledger.unlink_deliverable),
    Command("PUT", f"{M}/{P}", "add_dependency", Ledger.add_dependency, DependencySet),
    Command("DELETE", f"{M}/{P}", "remove_dependency", Ledger.remove_dependency),
    Command("POST", f"{M}/reschedule", "reschedule", Ledger.reschedule_milestone, Reschedule),
    Command("POST", f"{M}/achieve", "achieve", Ledger.achieve_milestone, Achievement, _signed),
    Command("POST", f"{M}/reopen", "reopen_milestone", Ledger.reopen_milestone, Reopening,
            _signed),
    Command("POST", f"{M}/cancel", "cancel_milestone", Ledger.cancel_milestone, WithReason),
    Command("POST", "baselines", "rebaseline", Ledger.rebaseline, BaselineCreate),
)  # fmt: skip


def _sign(container: Container, admitted: Admission, password: str | None) -> str:
    """R23: when the deployment requires signatures, or a password is given, the caller's
    signing password must be right and its signing not locked, else 401 and nothing is
    stored. Checked before the command runs, holding no connection while it hashes.

    R27: the signer's printed name at signing time, read from the principals store (its name
    when it has none), which the command records with the signature."""
    name = admitted.principal.name
    try:
        if password is None and not container.settings.signatures_required:
            return container.signatures.printed_name(name)
        return container.signatures.verify(name, password).display_name
    except SigningRefusedError as refused:
        until = refused.locked_until
        extra = {} if until is None else {"locked_until": until.isoformat().replace("+00:00", "Z")}
        raise ProblemError(
            401,
            "Signature refused",
            refused.detail,
            slug="signature-refused",
            headers={"WWW-Authenticate": 'Bearer realm="milestones", error="signature_refused"'},
            **extra,
        ) from None


def _endpoint(route: Command) -> Callable[..., Response]:
    """The route's function: FastAPI reads its signature (path ids, body, the admission)."""

    def call(**given: Any) -> Response:
        container: Container = given.pop("container")
        admitted: Admission = given.pop("admitted")
        del given["project_id"]  # the admission's
        body = given.pop("body", None)
        arguments = {} if body is None else route.arguments(body)
        if route.signs:
            arguments["signer_name"] = _sign(container, admitted, getattr(body, "password", None))
        result = route.command(container.ledger, admitted, **given, **arguments)
        due = getattr(body, "due", None)
        if due is None or not result.changed:
            return answer(result)
        return answer(result, due_warnings(due, _zone(container, admitted), container.clock()))

    keyword = inspect.Parameter.KEYWORD_ONLY
    access = Depends(PROJECT_WRITERS[route.declared.needs])
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


def _zone(container: Container, admitted: Admission) -> str:
    """The project's time zone (it never changes), from the state at hand, else loaded."""
    ledger = container.ledger
    project = admitted.project or ledger.peek(admitted.project_id)
    return (project or ledger.load(admitted.project_id)).timezone


def _path_type(name: str) -> type:
    return str if name in ("principal", "name") else UUID


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
    _status = 200 if _route.declared.creates is None else 201
    router.add_api_route(
        _route.full_path,
        _endpoint(_route),
        methods=[_route.method],
        status_code=None if _status == 200 else _status,
        responses={_status: {"model": CommandResponse}, **_ERRORS},
        summary=_route.declared.summary,
    )
