"""Who may do what (SPEC §2), decided in one place: the principal's global role and its project
role, read from the event-sourced project (never from a view), narrowed by the scope of the token
it came with (some projects only, reading only): a scope never widens what the role allows.

A principal with no role on a project is told the project does not exist (404), unless it reads
every project (auditors and admins): those see it, so a command they may not send is refused
(403). Auditors write nothing. Project roles are cumulative (`ProjectRole.includes`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING
from uuid import UUID

from application.results import AnswerKey, Ids
from domain.contents import ProjectContents
from domain.errors import PermissionDeniedError, ProjectNotFoundError
from domain.roles import ProjectRole

if TYPE_CHECKING:
    from domain.project import Project


class GlobalRole(StrEnum):
    """A principal's role across every project."""

    ADMIN = "admin"
    AUDITOR = "auditor"
    MEMBER = "member"


@dataclass(frozen=True)
class Principal:
    """Someone (or some tool) that authenticates with a bearer token; named by `name` in every
    event it causes (R1)."""

    name: str
    role: GlobalRole = GlobalRole.MEMBER
    # The token's scope: the only projects it may reach (None: every one the role reaches)...
    projects: frozenset[UUID] | None = None
    # ... and whether it may only read.
    read_only: bool = False

    @property
    def oversees(self) -> bool:
        """Auditors and admins read projects they have no role on (SPEC §2)."""
        return self.role in (GlobalRole.AUDITOR, GlobalRole.ADMIN)

    @property
    def reads_everything(self) -> bool:
        """Auditors and admins read every project (SPEC §2), unless their token is scoped."""
        return self.oversees and self.projects is None

    @property
    def writes(self) -> bool:
        """Auditors read; they write nothing. Nor does a read-only token."""
        return self.role is not GlobalRole.AUDITOR and not self.read_only

    def reaches(self, project_id: UUID) -> bool:
        """Whether the token's scope lets this principal reach the project at all."""
        return self.projects is None or project_id in self.projects


def require_writer(principal: Principal) -> None:
    """Anyone but an auditor may send commands (and create a project), with a token that may
    write."""
    if principal.role is GlobalRole.AUDITOR:
        raise PermissionDeniedError("auditors read; they write nothing")
    if principal.read_only:
        raise PermissionDeniedError("this token is read-only")


def require_creator(principal: Principal) -> None:
    """Creating a project: a writer whose token is not limited to projects that exist."""
    require_writer(principal)
    if principal.projects is not None:
        raise PermissionDeniedError("a token scoped to projects cannot create one")


def require_overseer(principal: Principal) -> None:
    """Only auditors and admins read across projects (verification), with an unscoped token."""
    if not principal.oversees:
        raise PermissionDeniedError("only auditors and admins may read this")
    if not principal.reads_everything:
        raise PermissionDeniedError("a token scoped to projects cannot read across them")


def require_admin(principal: Principal) -> None:
    """Only admins manage tokens, and only with a token that reaches every project."""
    if principal.role is not GlobalRole.ADMIN:
        raise PermissionDeniedError("only admins may do this")
    if principal.projects is not None:
        raise PermissionDeniedError("a token scoped to projects cannot manage tokens")


def authorize(
    project: ProjectContents, principal: Principal, needs: ProjectRole, *, writes: bool
) -> None:
    """Let `principal` do what needs `needs` on `project` (a command when `writes`), or refuse."""
    if not principal.reaches(project.id):
        # Outside the token's scope the project does not exist for it, as for a non-member.
        raise ProjectNotFoundError(f"project {project.id} not found")
    role = project.role_of(principal.name)
    if role is None and not principal.oversees:
        raise ProjectNotFoundError(f"project {project.id} not found")
    if writes:
        require_writer(principal)
    if not writes and needs is ProjectRole.VIEWER:
        return
    if role is None:
        raise PermissionDeniedError(f"{principal.name} has no role on this project")
    if not role.includes(needs):
        raise PermissionDeniedError(
            f"{principal.name} is {role.value} on this project; this needs {needs.value}"
        )


@dataclass(frozen=True)
class Admission:
    """A principal let in to one project for what needs `needs`: what a command or a read of the
    project takes instead of a project id, so that a request loads and authorises it once.

    Made only by `Ledger.admit`. `project` is the state it was let in on: a private copy a
    command acts on first (None for a read that needed only the check). `fresh` says whether that
    state was read from the store or copied from this process's cache (which a save proves
    current, or a refusal sends back to the store). A command also carries the caller's
    `If-Match` version and `Idempotency-Key`.
    """

    principal: Principal
    project_id: UUID
    needs: ProjectRole
    writes: bool
    project: Project | None = None
    fresh: bool = True
    expected_version: int | None = None
    answer_key: AnswerKey | None = None
    # What the command's answer names (see `application.commands.command`).
    ids: Ids = field(default_factory=dict)
    creates: str | None = None
    # The version the admission saw (a read that kept no state): a read of the past elsewhere
    # (a replica) must reach it to show what the caller's own commands did.
    seen_version: int | None = None
    # The state a command has not acted on yet (shared by the copies `requiring` makes): the
    # first command takes it, any later one loads the project again.
    unused: list[Project] = field(default_factory=list, compare=False, repr=False)
    # The Idempotency-Key names one request, so one command: the first command of the
    # admission takes it; the keys taken are shared by the copies `for_command` makes.
    spent: dict[AnswerKey, object] = field(default_factory=dict, compare=False, repr=False)

    @property
    def version(self) -> int | None:
        """The project's version when the caller was let in (None: not known)."""
        return self.project.version if self.project is not None else self.seen_version

    def take_answer_key(self) -> AnswerKey | None:
        """The request's Idempotency-Key, for the first command that asks; None after that."""
        key, mine = self.answer_key, object()
        if key is None or self.spent.setdefault(key, mine) is not mine:
            return None
        return key

    def take_state(self) -> Project | None:
        """The admitted state, the first time it is asked for; None after that."""
        try:
            return self.unused.pop()
        except IndexError:
            return None

    @property
    def actor(self) -> str:
        """Who every event of the command is attributed to (R1): the authenticated principal."""
        return self.principal.name

    def allows(self, needs: ProjectRole, writes: bool) -> bool:
        """Whether this admission already covers what `needs` (on this very state)."""
        return (self.writes or not writes) and self.needs.includes(needs)

    def for_command(self, needs: ProjectRole, ids: Ids, creates: str | None) -> Admission:
        """This admission for a command that needs `needs` and answers `ids` (and the id of
        what it creates under `creates`): checked on the state it holds unless it was let in
        for that already (a state it does not hold is checked once loaded)."""
        if not self.allows(needs, writes=True):
            self.take_state()  # decided by the command, on the state it acts on
        return replace(self, needs=needs, writes=True, ids=ids, creates=creates)
