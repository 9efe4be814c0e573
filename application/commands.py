"""The commands on a project, one named method each: the role it needs, then what it does.

Every method takes the `Admission` of the request (the principal let in to the project once, see
`Ledger.admit`) and the command's own arguments; the role is declared once, by `@command`, and
the actor is the admitted principal, taken once and handed to the aggregate (R1). The answer
names the ids given as keywords, and `created` names the id of what the command created.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from application.access import Admission, Principal, require_writer
from application.loading import ProjectLoading
from application.ports import PrincipalDirectory
from application.results import AnswerKey, CommandResult, Ids
from domain.deliverables import UNSET, _Unset
from domain.entities import DeliverableKind
from domain.errors import InvalidValueError
from domain.project import Project
from domain.roles import ProjectRole

# A command method of the aggregate (`Project.achieve`, …): called on the project with the
# command's arguments and `actor=` the admitted principal; returns the id of what it created.
Act = Callable[..., UUID | None]

P = ParamSpec("P")
C = TypeVar("C", bound="ProjectCommands")
Method = Callable[Concatenate[C, Admission, P], CommandResult]

# The role each command needs, by method name (the API reads it to let callers in early).
ROLES: dict[str, ProjectRole] = {}

MANAGER = ProjectRole.MANAGER
REVIEWER = ProjectRole.REVIEWER
CONTRIBUTOR = ProjectRole.CONTRIBUTOR


def command(needs: ProjectRole) -> Callable[[Method[C, P]], Method[C, P]]:
    """Declare the project role a command needs; the admission is checked for it on the state
    the command acts on (at once when the admission already covers it)."""

    def declare(method: Method[C, P]) -> Method[C, P]:
        @functools.wraps(method)
        def run(
            self: C, admitted: Admission, /, *args: P.args, **kwargs: P.kwargs
        ) -> CommandResult:
            return method(self, admitted.requiring(needs), *args, **kwargs)

        ROLES[method.__name__] = needs
        return run

    return declare


def role_needed(method: Callable[..., CommandResult]) -> ProjectRole:
    """The role a command method declared with `@command`."""
    return ROLES[method.__name__]


class ProjectCommands(ProjectLoading):
    """The ledger's commands (see the module's docstring)."""

    principals: PrincipalDirectory | None

    def _run(
        self,
        admitted: Admission,
        ids: Ids,
        act: Act,
        /,
        *args: Any,
        created: str | None = None,
        **kwargs: Any,
    ) -> CommandResult:
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
        require_writer(principal)
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
        """Add a member, or change a member's role (the principal must exist)."""
        if self.principals is not None and self.principals.get(principal) is None:
            raise InvalidValueError("principal", f"no principal named {principal!r}")
        return self._run(admitted, {}, Project.set_member, principal, ProjectRole(role))

    @command(MANAGER)
    def remove_member(self, admitted: Admission, principal: str) -> CommandResult:
        return self._run(admitted, {}, Project.remove_member, principal)

    @command(MANAGER)
    def add_phase(self, admitted: Admission, name: str) -> CommandResult:
        return self._run(admitted, {}, Project.add_phase, name, created="phase_id")

    # --- deliverables ------------------------------------------------------------------------

    @command(CONTRIBUTOR)
    def define_deliverable(
        self,
        admitted: Admission,
        title: str,
        phase_id: UUID,
        kind: DeliverableKind = DeliverableKind.OTHER,
        description: str = "",
        owner: str | None = None,
    ) -> CommandResult:
        fields = {"title": title, "phase_id": phase_id, "kind": kind}
        more = {"description": description, "owner": owner}
        return self._run(
            admitted, {}, Project.define_deliverable, **fields, **more, created="deliverable_id"
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
        """Change any of the given fields; those left UNSET stay as they are."""
        return self._run(
            admitted,
            {},
            Project.update_deliverable,
            deliverable_id,
            title=title,
            description=description,
            owner=owner,
            phase_id=phase_id,
            kind=kind,
        )

    @command(CONTRIBUTOR)
    def add_criterion(self, admitted: Admission, deliverable_id: UUID, text: str) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(
            admitted, ids, Project.add_criterion, deliverable_id, text, created="criterion_id"
        )

    @command(CONTRIBUTOR)
    def record_evidence(
        self,
        admitted: Admission,
        deliverable_id: UUID,
        criterion_id: UUID,
        evidence: str,
        sha256: str | None = None,
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id, "criterion_id": criterion_id}
        args = (deliverable_id, criterion_id, evidence, sha256)
        return self._run(admitted, ids, Project.record_evidence, *args)

    @command(CONTRIBUTOR)
    def submit_deliverable(
        self, admitted: Admission, deliverable_id: UUID, note: str | None = None
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.submit, deliverable_id, note)

    @command(REVIEWER)
    def approve_deliverable(
        self, admitted: Admission, deliverable_id: UUID, comment: str | None = None
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.approve, deliverable_id, comment)

    @command(REVIEWER)
    def reject_deliverable(
        self, admitted: Admission, deliverable_id: UUID, reason: str
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.reject, deliverable_id, reason)

    @command(MANAGER)
    def reopen_deliverable(
        self, admitted: Admission, deliverable_id: UUID, reason: str
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.reopen_deliverable, deliverable_id, reason)

    @command(MANAGER)
    def cancel_deliverable(
        self, admitted: Admission, deliverable_id: UUID, reason: str
    ) -> CommandResult:
        ids = {"deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.cancel_deliverable, deliverable_id, reason)

    # --- milestones --------------------------------------------------------------------------

    @command(MANAGER)
    def define_milestone(
        self,
        admitted: Admission,
        name: str,
        phase_id: UUID,
        due: date,
        deliverable_ids: list[UUID],
    ) -> CommandResult:
        fields = {
            "name": name,
            "phase_id": phase_id,
            "due": due,
            "deliverable_ids": deliverable_ids,
        }
        return self._run(admitted, {}, Project.define_milestone, **fields, created="milestone_id")

    @command(MANAGER)
    def link_deliverable(
        self, admitted: Admission, milestone_id: UUID, deliverable_id: UUID
    ) -> CommandResult:
        ids = {"milestone_id": milestone_id, "deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.link, milestone_id, deliverable_id)

    @command(MANAGER)
    def unlink_deliverable(
        self, admitted: Admission, milestone_id: UUID, deliverable_id: UUID
    ) -> CommandResult:
        ids = {"milestone_id": milestone_id, "deliverable_id": deliverable_id}
        return self._run(admitted, ids, Project.unlink, milestone_id, deliverable_id)

    @command(MANAGER)
    def reschedule_milestone(
        self, admitted: Admission, milestone_id: UUID, due: date, reason: str
    ) -> CommandResult:
        ids = {"milestone_id": milestone_id}
        return self._run(admitted, ids, Project.reschedule, milestone_id, due, reason)

    @command(MANAGER)
    def achieve_milestone(
        self, admitted: Admission, milestone_id: UUID, note: str | None = None
    ) -> CommandResult:
        """Record the milestone as achieved (R3: every live linked deliverable approved)."""
        ids = {"milestone_id": milestone_id}
        return self._run(admitted, ids, Project.achieve, milestone_id, note)

    @command(MANAGER)
    def reopen_milestone(
        self, admitted: Admission, milestone_id: UUID, reason: str
    ) -> CommandResult:
        ids = {"milestone_id": milestone_id}
        return self._run(admitted, ids, Project.reopen_milestone, milestone_id, reason)

    @command(MANAGER)
    def cancel_milestone(
        self, admitted: Admission, milestone_id: UUID, reason: str
    ) -> CommandResult:
        ids = {"milestone_id": milestone_id}
        return self._run(admitted, ids, Project.cancel_milestone, milestone_id, reason)

    @command(MANAGER)
    def rebaseline(self, admitted: Admission, reason: str) -> CommandResult:
        """R7: every open milestone's baseline set to its current due date."""
        return self._run(admitted, {}, Project.rebaseline, reason)
