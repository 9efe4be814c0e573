"""Who may call what (SPEC §2), declared once per route as a dependency and checked only here.

Every route of the API depends on exactly one `Requirement` (directly or through the
`Annotated` aliases below); the authorization test reads that declaration from each route and
derives the statuses it expects for every kind of caller, so a new route without one fails it.

Project roles are read from the event-sourced project, never from a view. A caller with no role
on a project gets 404 (its existence is not revealed) unless it reads every project (auditors,
admins): those see it, so a command they may not send is 403.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.concurrency import run_in_threadpool

from api.deps import Caller, ContainerDep, reads_everything
from api.principals import GlobalRole, Principal
from domain.errors import DomainError, PermissionDeniedError, ProjectNotFoundError
from domain.project import Project
from domain.roles import ProjectRole


class Rule(StrEnum):
    PUBLIC = "public"  # no token needed (probes, metrics)
    AUTHENTICATED = "authenticated"  # any principal; answers only what it may read
    NOT_AUDITOR = "not-auditor"  # any principal but an auditor (creating a project)
    READS_EVERYTHING = "reads-everything"  # auditors and admins only (the feed, verification)
    PROJECT = "project"  # a role on the project (or, to read, reading every project)


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
        if caller.role == GlobalRole.AUDITOR:
            raise PermissionDeniedError("auditors read; they write nothing")
        return caller


class _ReadsEverything(Requirement):
    rule = Rule.READS_EVERYTHING

    async def __call__(self, caller: Caller) -> Principal:
        if not reads_everything(caller):
            raise PermissionDeniedError("only auditors and admins may read this")
        return caller


@dataclass(frozen=True)
class ProjectAccess:
    """A caller let in to a project, with the project as it was when checked."""

    principal: Principal
    project: Project
    needs: ProjectRole

    @property
    def project_id(self) -> UUID:
        return self.project.id

    @property
    def actor(self) -> str:
        return self.principal.name

    @property
    def reads_everything(self) -> bool:
        return reads_everything(self.principal)


class _OnProject(Requirement):
    rule = Rule.PROJECT

    def __init__(self, needs: ProjectRole, *, writes: bool) -> None:
        self.project_role = needs
        self.writes = writes

    async def __call__(
        self, project_id: UUID, caller: Caller, container: ContainerDep
    ) -> ProjectAccess:
        # async, so a caller let in on the cached copy costs no hop to a worker thread; a read
        # from the store runs in one.
        sees_all = reads_everything(caller)
        if self.writes:
            # A command re-checks the caller's role on the state it acts on (Ledger.execute), so
            # the copy this process already holds is enough to let the caller through here; a
            # refusal is only answered once fresh state confirms it.
            cached = container.ledger.peek_project(project_id)
            if cached is not None:
                with suppress(DomainError):
                    return self._let_in(caller, cached, sees_all)
        # 404 for a caller with no role, unless it reads every project.
        project = await run_in_threadpool(
            container.ledger.get_project, project_id, reader=caller.name, read_all=sees_all
        )
        return self._let_in(caller, project, sees_all)

    def _let_in(self, caller: Principal, project: Project, sees_all: bool) -> ProjectAccess:
        needs = self.project_role or ProjectRole.VIEWER
        if not sees_all and project.role_of(caller.name) is None:
            raise ProjectNotFoundError(f"project {project.id} not found")
        if self.writes and caller.role == GlobalRole.AUDITOR:
            raise PermissionDeniedError("auditors read; they write nothing")
        if self.writes or needs is not ProjectRole.VIEWER:
            role = project.role_of(caller.name)
            if role is None:
                raise PermissionDeniedError(f"{caller.name} has no role on this project")
            if not role.includes(needs):
                raise PermissionDeniedError(
                    f"{caller.name} is {role.value} on this project; this needs {needs.value}"
                )
        return ProjectAccess(caller, project, needs)


PUBLIC = _Public()
AUTHENTICATED = _Authenticated()
NOT_AUDITOR = _NotAuditor()
READS_EVERYTHING = _ReadsEverything()
PROJECT_READER = _OnProject(ProjectRole.VIEWER, writes=False)
PROJECT_CONTRIBUTOR = _OnProject(ProjectRole.CONTRIBUTOR, writes=True)
PROJECT_REVIEWER = _OnProject(ProjectRole.REVIEWER, writes=True)
PROJECT_MANAGER = _OnProject(ProjectRole.MANAGER, writes=True)

# What routes declare (one of these per route):
Anyone = Annotated[Principal, Depends(AUTHENTICATED)]
Creator = Annotated[Principal, Depends(NOT_AUDITOR)]
Overseer = Annotated[Principal, Depends(READS_EVERYTHING)]
Reader = Annotated[ProjectAccess, Depends(PROJECT_READER)]
Contributor = Annotated[ProjectAccess, Depends(PROJECT_CONTRIBUTOR)]
Reviewer = Annotated[ProjectAccess, Depends(PROJECT_REVIEWER)]
Manager = Annotated[ProjectAccess, Depends(PROJECT_MANAGER)]
# For a route with no caller (probes): `dependencies=[Depends(PUBLIC)]`.
