"""Who may call what (SPEC §2), declared once per route as a dependency.

Every route of the API depends on exactly one `Requirement` (directly or through the
`Annotated` aliases below); the authorization test reads that declaration from each route and
derives the statuses it expects for every kind of caller, so a new route without one fails it.
A command route's requirement is the role its application command declares
(`application.commands.command`): the role is written once, in the application.

The decision itself is the application's (`application.access.authorize`, through
`Ledger.admit`): the route's requirement asks for it once per request, before the body is
looked at, and hands the resulting `Admission` (the project loaded once) to the route.
"""

from __future__ import annotations

from dataclasses import replace
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from api.bootstrap import Container
from api.deps import Caller, ContainerDep, RawIfMatch, expected_version
from api.idempotency import answer_key, note_admitted
from application.access import (
    Admission,
    Principal,
    require_admin,
    require_creator,
    require_overseer,
)
from domain.errors import PermissionDeniedError
from domain.roles import ProjectRole


class Rule(StrEnum):
    PUBLIC = "public"  # no token needed (probes, metrics)
    AUTHENTICATED = "authenticated"  # any principal; answers only what it may read
    NOT_AUDITOR = "not-auditor"  # any principal but an auditor (creating a project)
    READS_EVERYTHING = "reads-everything"  # auditors and admins only (verification)
    ADMIN = "admin"  # admins only (tokens)
    PROJECT = "project"  # a role on the project (or, to read, reading every project)
    WEBHOOK = "webhook-manager"  # the subscription's project's managers, and admins


class Requirement:
    """A route's access rule; an instance is the FastAPI dependency that enforces it."""

    rule: Rule
    project_role: ProjectRole | None = None
    writes: bool = False

    def describe(self) -> str:
        if self.rule is Rule.PROJECT and self.project_role is not None:
            verb = "writes" if self.writes else "reads"
            return f"project {self.project_role.value} ({verb})"
        return self.rule.value


class _Public(Requirement):
    rule = Rule.PUBLIC

    async def __call__(self) -> None:
        return None


class _Authenticated(Requirement):
    rule = Rule.AUTHENTICATED

    async def __call__(self, caller: Caller) -> Principal:
        return caller


class _NotAuditor(Requirement):
    rule = Rule.NOT_AUDITOR

    async def __call__(self, caller: Caller) -> Principal:
        require_creator(caller)
        return caller


class _ReadsEverything(Requirement):
    rule = Rule.READS_EVERYTHING

    async def __call__(self, caller: Caller) -> Principal:
        require_overseer(caller)
        return caller


class _Administers(Requirement):
    rule = Rule.ADMIN

    async def __call__(self, caller: Caller) -> Principal:
        require_admin(caller)
        return caller


class _OnProject(Requirement):
    """A role on the project the path names: the request's one admission to it."""

    rule = Rule.PROJECT

    def __init__(self, needs: ProjectRole, *, writes: bool, keep_state: bool = True) -> None:
        self.project_role = needs
        self.writes = writes
        self.keep_state = keep_state

    async def admit(self, container: Container, admission: Admission) -> Admission:
        ledger = container.ledger
        if self.writes:
            # A command let in on this process's cached project costs no hop to a worker
            # thread: the check reads the shared copy (no lock, no copy); the command copies it
            # in its own turn. A read from the store runs in a worker thread.
            cached = ledger.admit_cached(admission)
            if cached is not None:
                return cached
        return await run_in_threadpool(
            ledger.admit,
            admission.project_id,
            admission.principal,
            admission.needs,
            writes=self.writes,
            keep_state=self.keep_state,
            expected_version=admission.expected_version,
            answer_key=admission.answer_key,
        )


class _ReadsProject(_OnProject):
    async def __call__(
        self, project_id: UUID, caller: Caller, container: ContainerDep
    ) -> Admission:
        return await self.admit(container, Admission(caller, project_id, ProjectRole.VIEWER, False))


class _ReadsProjectNowOrPast(_OnProject):
    """A read of the project's state: the current one (kept from the admission) or, with
    `?as_of=`, a past one the route replays (the current state is then only looked at)."""

    async def __call__(
        self, request: Request, project_id: UUID, caller: Caller, container: ContainerDep
    ) -> Admission:
        admission = Admission(caller, project_id, ProjectRole.VIEWER, False)
        if "as_of" in request.query_params:
            return await run_in_threadpool(
                container.ledger.admit, project_id, caller, keep_state=False
            )
        return await self.admit(container, admission)


class _ReadsProjectAs(_OnProject):
    """A read that needs a role beyond viewing (an evidence pack: a manager), or overseeing:
    auditors and admins read every project, so they pass; a member with a lesser role is 403."""

    async def __call__(
        self, project_id: UUID, caller: Caller, container: ContainerDep
    ) -> Admission:
        admission = Admission(caller, project_id, ProjectRole.VIEWER, False)
        admitted = await self.admit(container, admission)
        needs = self.project_role or ProjectRole.VIEWER
        role = None if admitted.project is None else admitted.project.role_of(caller.name)
        if not caller.oversees and (role is None or not role.includes(needs)):
            held = "no role" if role is None else f"{role.value}"
            raise PermissionDeniedError(
                f"{caller.name} is {held} on this project; this needs {needs.value}, or an "
                "auditor or admin"
            )
        return admitted


class _WritesProject(_OnProject):
    """A command's: its `If-Match` and `Idempotency-Key` travel with the admission."""

    async def __call__(
        self,
        request: Request,
        project_id: UUID,
        caller: Caller,
        container: ContainerDep,
        if_match: RawIfMatch,
    ) -> Admission:
        needs = self.project_role or ProjectRole.VIEWER
        admission = Admission(
            caller, project_id, needs, writes=True, answer_key=answer_key(request)
        )
        admitted = await self.admit(container, admission)
        note_admitted(request)  # its answer may be kept (api.idempotency.kept)
        return replace(admitted, expected_version=await expected_version(if_match))


class _ManagesWebhook(Requirement):
    """The subscription the path names, managed by the caller (else 404: not revealed)."""

    rule = Rule.WEBHOOK

    async def __call__(
        self, webhook_id: UUID, caller: Caller, container: ContainerDep
    ) -> Principal:
        await run_in_threadpool(container.webhooks.get, caller, webhook_id)
        return caller


PUBLIC = _Public()
AUTHENTICATED = _Authenticated()
NOT_AUDITOR = _NotAuditor()
READS_EVERYTHING = _ReadsEverything()
MANAGES_WEBHOOK = _ManagesWebhook()
ADMINISTERS = _Administers()
PROJECT_READER = _ReadsProject(ProjectRole.VIEWER, writes=False)
PROJECT_STATE_READER = _ReadsProjectNowOrPast(ProjectRole.VIEWER, writes=False)
# A read that replays events itself (history, the retrospective) or reads a view: the project
# is only looked at to let the reader in, not copied.
PROJECT_LOOKER = _ReadsProject(ProjectRole.VIEWER, writes=False, keep_state=False)
# An evidence pack: the project's managers, auditors and admins (docs/trust.md §10).
PROJECT_MANAGER_READER = _ReadsProjectAs(ProjectRole.MANAGER, writes=False)
# One per role a command may need (`application.commands.command` declares it).
PROJECT_WRITERS = {role: _WritesProject(role, writes=True) for role in ProjectRole}


# What routes declare (one of these per route):
Anyone = Annotated[Principal, Depends(AUTHENTICATED)]
Creator = Annotated[Principal, Depends(NOT_AUDITOR)]
Overseer = Annotated[Principal, Depends(READS_EVERYTHING)]
WebhookManager = Annotated[Principal, Depends(MANAGES_WEBHOOK)]
Admin = Annotated[Principal, Depends(ADMINISTERS)]
Reader = Annotated[Admission, Depends(PROJECT_READER)]
StateReader = Annotated[Admission, Depends(PROJECT_STATE_READER)]
Looker = Annotated[Admission, Depends(PROJECT_LOOKER)]
ManagerReader = Annotated[Admission, Depends(PROJECT_MANAGER_READER)]
# For a route with no caller (probes): `dependencies=[Depends(PUBLIC)]`.
