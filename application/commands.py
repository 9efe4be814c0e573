"""The commands on a project, one named method each: the role it needs, then what it does.

Every method takes the `Admission` of the request (the principal let in to the project once, see
`Ledger.admit`) and the command's own arguments, and calls one command method of the aggregate.
`@command` declares, once: the role it needs, the ids its answer names, what it creates; the
first line of its docstring says what it does (the API's summary of its route). The actor is the
admitted principal, taken once and handed to the aggregate (R1).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from application.access import Admission, Principal, require_creator
from application.loading import ProjectLoading
from application.ports import ArtifactCatalog, PrincipalDirectory
from application.results import AnswerKey, CommandResult
from domain.deliverables import UNSET, _Unset
from domain.entities import ArtifactRef, DeliverableKind, GateDecisionKind, SignatureMeaning
from domain.errors import InvalidValueError
from domain.project import Project
from domain.roles import ProjectRole
from domain.signatures import DEFAULT_MEANINGS

# A command method of the aggregate (`Project.achieve`, …): called on the project with the
# command's arguments and `actor=` the admitted principal; returns the id of what it created.
Act = Callable[..., UUID | None]

P = ParamSpec("P")
C = TypeVar("C", bound="ProjectCommands")
Method = Callable[Concatenate[C, Admission, P], CommandResult]
Result = CommandResult

MANAGER = ProjectRole.MANAGER
REVIEWER = ProjectRole.REVIEWER
CONTRIBUTOR = ProjectRole.CONTRIBUTOR


@dataclass(frozen=True)
class Declaration:
    """What a command declares once: the role it needs, the ids its answer names (from its own
    arguments), the name of the id of what it creates, and what it does (its docstring)."""

    needs: ProjectRole
    answers: tuple[str, ...] = ()
    creates: str | None = None
    summary: str = ""


# Each command's declaration, by method name (the API reads them to build its routes).
DECLARED: dict[str, Declaration] = {}


def command(
    needs: ProjectRole, *, answers: tuple[str, ...] = (), creates: str | None = None
) -> Callable[[Method[C, P]], Method[C, P]]:
    """Declare a command: the admission is checked for `needs` on the state the command acts
    on (at once when the admission already covers it), and the answer names `answers` (some of
    the command's arguments) and, under `creates`, the id of what it created."""

    def declare(method: Method[C, P]) -> Method[C, P]:
        signature = inspect.signature(method)

        @functools.wraps(method)
        def run(
            self: C, admitted: Admission, /, *args: P.args, **kwargs: P.kwargs
        ) -> CommandResult:
            given = signature.bind(self, admitted, *args, **kwargs).arguments
            ids = {name: given[name] for name in answers}
            return method(self, admitted.for_command(needs, ids, creates), *args, **kwargs)

        summary = (method.__doc__ or "").strip().split("\n")[0]
        DECLARED[method.__name__] = Declaration(needs, answers, creates, summary)
        return run

    return declare


def declaration(method: Callable[..., CommandResult]) -> Declaration:
    """What a command method declared with `@command`."""
    return DECLARED[method.__name__]


class ProjectCommands(ProjectLoading):
    """The ledger's commands (see the module's docstring)."""

    principals: PrincipalDirectory | None
    artifacts: ArtifactCatalog | None

    def _run(self, admitted: Admission, act: Act, /, *args: Any, **kwargs: Any) -> CommandResult:
        raise NotImplementedError

    def create(self, project: Project, answer_key: AnswerKey | None) -> CommandResult:
        raise NotImplementedError

    def create_project(
        self,
        principal: Principal,
        *,
        name: str,
        description: str = "",
        timezone: str = "UTC",
        risk_window_days: int = 7,
        answer_key: AnswerKey | None = None,
    ) -> CommandResult:
        """Any principal but an auditor may create a project, and becomes its manager."""
        require_creator(principal)
        project = Project.create(
            name=name,
            description=description,
            timezone=timezone,
            risk_window_days=risk_window_days,
            actor=principal.name,
        )
        return self.create(project, answer_key)

    # --- members and phases ------------------------------------------------------------------

    @command(MANAGER)
    def set_member(self, admitted: Admission, principal: str, role: ProjectRole) -> CommandResult:
        """Add a member or change a role"""
        if self.principals is not None and self.principals.get(principal) is None:
            raise InvalidValueError("principal", f"no principal named {principal!r}")
        return self._run(admitted, Project.set_member, principal, ProjectRole(role))

    @command(MANAGER)
    def remove_member(self, admitted: Admission, principal: str) -> CommandResult:
        """Remove a member"""
        return self._run(admitted, Project.remove_member, principal)

    @command(MANAGER)
    def set_group(self, admitted: Admission, name: str, members: list[str]) -> CommandResult:
        """Set the members of a named group of the project's principals (R26)"""
        return self._run(admitted, Project.set_group, name, list(members))

    @command(MANAGER, creates="phase_id")
    def add_phase(self, admitted: Admission, name: str) -> CommandResult:
        """Add a phase"""
        return self._run(admitted, Project.add_phase, name)

    @command(MANAGER)
    def reorder_phases(self, admitted: Admission, phase_ids: list[UUID]) -> CommandResult:
        """Set the phases' order, naming every phase once (R24)"""
        return self._run(admitted, Project.reorder_phases, phase_ids)

    @command(MANAGER, answers=("phase_id",))
    def set_exit_gate(self, admitted: Admission, phase_id: UUID, required: bool) -> Result:
        """Give a phase an exit gate, or take away one with no decision yet (R24, R25)"""
        return self._run(admitted, Project.set_exit_gate, phase_id, required)

    @command(MANAGER, answers=("phase_id",), creates="decision_id")
    def decide_gate(
        self,
        admitted: Admission,
        phase_id: UUID,
        decision: GateDecisionKind,
        participants: list[str],
        reason: str,
        conditions: list[str] | None = None,
        meaning: SignatureMeaning = SignatureMeaning.APPROVAL,
        signer_name: str | None = None,
    ) -> CommandResult:
        """Record a signed decision at a phase's exit gate, with an independent participant
        (R24, R25)"""
        return self._run(
            admitted,
            Project.decide_gate,
            phase_id,
            GateDecisionKind(decision),
            participants,
            reason,
            conditions,
            meaning=SignatureMeaning(meaning),
            signer_name=signer_name,
        )

    @command(MANAGER, answers=("phase_id", "condition_id"))
    def close_gate_condition(
        self, admitted: Admission, phase_id: UUID, condition_id: UUID, how: str
    ) -> Result:
        """Close one open condition of a phase's conditional gate decision (R24)"""
        return self._run(admitted, Project.close_gate_condition, phase_id, condition_id, how)

    # --- deliverables ------------------------------------------------------------------------

    @command(CONTRIBUTOR, creates="deliverable_id")
    def define_deliverable(
        self,
        admitted: Admission,
        title: str,
        phase_id: UUID,
        kind: DeliverableKind = DeliverableKind.OTHER,
        description: str = "",
        owner: str | None = None,
    ) -> CommandResult:
        """Define a deliverable"""
        return self._run(
            admitted,
            Project.define_deliverable,
            title=title,
            phase_id=phase_id,
            kind=kind,
            description=description,
            owner=owner,
        )

    @command(CONTRIBUTOR)
    def update_deliverable(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        *,
        title: str | _Unset = UNSET,
        description: str | _Unset = UNSET,
        owner: str | _Unset | None = UNSET,
        phase_id: UUID | _Unset = UNSET,
        kind: DeliverableKind | _Unset = UNSET,
    ) -> CommandResult:
        """Change a deliverable's title, description, owner, phase or kind

        Fields left UNSET stay as they are; `owner=None` clears the owner.
        """
        changes = {"title": title, "description": description, "owner": owner}
        moves = {"phase_id": phase_id, "kind": kind}
        return self._run(admitted, Project.update_deliverable, deliverable_id, **changes, **moves)

    @command(CONTRIBUTOR, answers=("deliverable_id",), creates="criterion_id")
    def add_criterion(self, admitted: Admission, deliverable_id: UUID, text: str) -> CommandResult:
        """Add a completion criterion"""
        return self._run(admitted, Project.add_criterion, deliverable_id, text)

    @command(CONTRIBUTOR, answers=("deliverable_id", "criterion_id"))
    def record_evidence(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        criterion_id: UUID,
        evidence: str | None = None,
        sha256: str | None = None,
        artifact: str | None = None,
    ) -> CommandResult:
        """Record evidence that a criterion is met: a URI or text, an artifact, or both"""
        named = None if artifact is None else self._artifact(admitted.project_id, artifact)
        args = (deliverable_id, criterion_id, evidence, sha256)
        return self._run(admitted, Project.record_evidence, *args, artifact=named)

    def _artifact(self, project_id: UUID, sha256: str) -> ArtifactRef:
        """The project's artifact with that digest; an unknown one is an invalid value (422)."""
        found = None if self.artifacts is None else self.artifacts.describe(project_id, sha256)
        if found is None:
            raise InvalidValueError("artifact", f"the project has no artifact {sha256}")
        return found

    @command(CONTRIBUTOR, answers=("deliverable_id",))
    def submit_deliverable(
        self, admitted: Admission, deliverable_id: UUID, note: str | None = None
    ) -> CommandResult:
        """Submit for review: needs every criterion met (R4)"""
        return self._run(admitted, Project.submit, deliverable_id, note)

    @command(MANAGER, answers=("deliverable_id",))
    def set_required_approvals(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        required_approvals: int,
        required_groups: list[str] | None = None,
    ) -> Result:
        """Set how many distinct reviewers, and from which groups, must approve a draft
        deliverable (R21, R26)"""
        return self._run(
            admitted,
            Project.set_required_approvals,
            deliverable_id,
            required_approvals,
            required_groups or [],
        )

    @command(REVIEWER, answers=("deliverable_id",))
    def approve_deliverable(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        comment: str | None = None,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["approve"],
        signer_name: str | None = None,
    ) -> CommandResult:
        """Approve a deliverable in review; not by its submitter (R5), once per reviewer and
        round, approved when the round has its quorum (R21, R26); a signature (R27)"""
        signature = _signature(meaning, signer_name)
        return self._run(admitted, Project.approve, deliverable_id, comment, **signature)

    @command(REVIEWER, answers=("deliverable_id",))
    def reject_deliverable(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        reason: str,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reject"],
        signer_name: str | None = None,
    ) -> Result:
        """Reject a deliverable in review, with a reason (R5); a veto that ends the round (R22)"""
        signature = _signature(meaning, signer_name)
        return self._run(admitted, Project.reject, deliverable_id, reason, **signature)

    @command(MANAGER, answers=("deliverable_id",))
    def reopen_deliverable(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        reason: str,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reopen"],
        signer_name: str | None = None,
    ) -> Result:
        """Reopen a deliverable in review or approved back to draft (R6)"""
        signature = _signature(meaning, signer_name)
        return self._run(admitted, Project.reopen_deliverable, deliverable_id, reason, **signature)

    @command(MANAGER, answers=("deliverable_id",))
    def cancel_deliverable(self, admitted: Admission, deliverable_id: UUID, reason: str) -> Result:
        """Cancel a deliverable, with a reason (R10)"""
        return self._run(admitted, Project.cancel_deliverable, deliverable_id, reason)

    # --- milestones --------------------------------------------------------------------------

    @command(MANAGER, creates="milestone_id")
    def define_milestone(
        self,
        admitted: Admission,
        name: str,
        phase_id: UUID,
        due: date,
        deliverable_ids: list[UUID],
    ) -> CommandResult:
        """Define a milestone with its due date and proving deliverables"""
        fields = {"name": name, "phase_id": phase_id, "due": due}
        return self._run(
            admitted, Project.define_milestone, **fields, deliverable_ids=deliverable_ids
        )

    @command(MANAGER, answers=("milestone_id", "deliverable_id"))
    def link_deliverable(
        self, admitted: Admission, milestone_id: UUID, deliverable_id: UUID
    ) -> Result:
        """Link a deliverable to a milestone (R9)"""
        return self._run(admitted, Project.link, milestone_id, deliverable_id)

    @command(MANAGER, answers=("milestone_id", "deliverable_id"))
    def unlink_deliverable(
        self, admitted: Admission, milestone_id: UUID, deliverable_id: UUID
    ) -> Result:
        """Unlink a deliverable from a milestone (R9)"""
        return self._run(admitted, Project.unlink, milestone_id, deliverable_id)

    @command(MANAGER, answers=("milestone_id", "predecessor_id"))
    def add_dependency(
        self, admitted: Admission, milestone_id: UUID, predecessor_id: UUID, lag_days: int = 0
    ) -> Result:
        """Make a milestone finish no earlier than a predecessor plus a lag (R16)"""
        return self._run(admitted, Project.add_dependency, milestone_id, predecessor_id, lag_days)

    @command(MANAGER, answers=("milestone_id", "predecessor_id"))
    def remove_dependency(
        self, admitted: Admission, milestone_id: UUID, predecessor_id: UUID
    ) -> Result:
        """Remove a milestone's dependency on a predecessor (R16)"""
        return self._run(admitted, Project.remove_dependency, milestone_id, predecessor_id)

    @command(MANAGER, answers=("milestone_id",))
    def reschedule_milestone(
        self, admitted: Admission, milestone_id: UUID, due: date, reason: str
    ) -> CommandResult:
        """Move a milestone's due date, with a reason (R7)"""
        return self._run(admitted, Project.reschedule, milestone_id, due, reason)

    @command(MANAGER, answers=("milestone_id",))
    def achieve_milestone(
        self,
        admitted: Admission,
        milestone_id: UUID,
        note: str | None = None,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["achieve"],
        signer_name: str | None = None,
    ) -> CommandResult:
        """Record a milestone as achieved (R3)"""
        signature = _signature(meaning, signer_name)
        return self._run(admitted, Project.achieve, milestone_id, note, **signature)

    @command(MANAGER, answers=("milestone_id",))
    def reopen_milestone(
        self,
        admitted: Admission,
        milestone_id: UUID,
        reason: str,
        meaning: SignatureMeaning = DEFAULT_MEANINGS["reopen"],
        signer_name: str | None = None,
    ) -> Result:
        """Reopen an achieved milestone, with a reason (R8)"""
        signature = _signature(meaning, signer_name)
        return self._run(admitted, Project.reopen_milestone, milestone_id, reason, **signature)

    @command(MANAGER, answers=("milestone_id",))
    def cancel_milestone(self, admitted: Admission, milestone_id: UUID, reason: str) -> Result:
        """Cancel a milestone that is not achieved, with a reason (R10)"""
        return self._run(admitted, Project.cancel_milestone, milestone_id, reason)

    @command(MANAGER)
    def rebaseline(
        self, admitted: Admission, reason: str, name: str | None = None
    ) -> CommandResult:
        """Re-baseline every open milestone to its current due date, under a name (R7, R19)"""
        return self._run(admitted, Project.rebaseline, reason, name=name)


def _signature(meaning: SignatureMeaning, signer_name: str | None) -> dict[str, Any]:
    """What a signing command hands the aggregate of its signature (R27): the meaning, and the
    printed name the caller read from the principals at signing time (None: its name)."""
    return {"meaning": SignatureMeaning(meaning), "signer_name": signer_name}
