"""The application service: each command is get → check role → act → save, retried on a clash.

It is the only way into the domain for the API and the command line. Decisions come only from
the event-sourced Project, never from a read model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError, JSONTranscoder, Transcoder

from domain.errors import PermissionDeniedError, ProjectNotFoundError, VersionMismatchError
from domain.project import Project
from domain.roles import ProjectRole
from domain.transcodings import register_domain_transcodings

T = TypeVar("T")

# How often a command without If-Match is retried on fresh state after a version clash.
MAX_ATTEMPTS = 10


@dataclass(frozen=True)
class CommandResult:
    """What a command answers: the ids it touched, the new version and the last position."""

    project_id: UUID
    version: int
    position: int | None  # None when the command changed nothing (no event written)
    ids: dict[str, UUID] = field(default_factory=dict)
    changed: bool = True


class Ledger(Application[UUID]):
    name = "ledger"
    snapshotting_intervals = {Project: 100}
    # Projects are small and hot: keep them in memory; fast-forwarding from the store keeps
    # a cached project correct when other processes write to it.
    env = {"AGGREGATE_CACHE_MAXSIZE": "1000", "AGGREGATE_CACHE_FASTFORWARD": "y"}

    def construct_transcoder(self) -> Transcoder:
        transcoder = super().construct_transcoder()
        if isinstance(transcoder, JSONTranscoder):
            register_domain_transcodings(transcoder)
        return transcoder

    # --- queries -----------------------------------------------------------------------------

    def get_project(self, project_id: UUID, *, reader: str, read_all: bool = False) -> Project:
        """The current state; 404 for a reader with no role (unless it may read every project)."""
        project = self._load(project_id)
        if not read_all and project.role_of(reader) is None:
            raise ProjectNotFoundError(f"project {project_id} not found")
        return project

    def _load(self, project_id: UUID, version: int | None = None) -> Project:
        try:
            project: Project = self.repository.get(project_id, version=version)
        except AggregateNotFoundError:
            raise ProjectNotFoundError(f"project {project_id} not found") from None
        return project

    # --- commands ----------------------------------------------------------------------------

    def create_project(
        self,
        *,
        name: str,
        description: str = "",
        timezone: str = "UTC",
        risk_window_days: int = 7,
        actor: str,
    ) -> CommandResult:
        project = Project.create(
            name=name,
            description=description,
            timezone=timezone,
            risk_window_days=risk_window_days,
            actor=actor,
        )
        return self._save(project, {"project_id": project.id})

    def execute(
        self,
        project_id: UUID,
        act: Callable[[Project], dict[str, UUID] | None],
        *,
        actor: str,
        needs: ProjectRole,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Runs one command on a project.

        `act` calls the aggregate's command method(s) and returns the ids of what it created.
        Without `expected_version` a version clash is retried on fresh state; with it, the
        command applies only at that version (If-Match).
        """
        for attempt in range(MAX_ATTEMPTS):
            project = self._load(project_id)
            self._check_role(project, actor, needs)
            if expected_version is not None and project.version != expected_version:
                raise VersionMismatchError(expected_version, project.version)
            ids = act(project) or {}
            if not project.pending_events:
                return CommandResult(project.id, project.version, None, ids, changed=False)
            try:
                return self._save(project, ids)
            except IntegrityError:
                if expected_version is not None:
                    raise VersionMismatchError(expected_version, expected_version + 1) from None
                if attempt == MAX_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _save(self, project: Project, ids: dict[str, UUID], **kwargs: Any) -> CommandResult:
        # The as-of index rides in the events' transaction (see domain.pgstore).
        timeline = [
            (e.originator_id, e.originator_version, e.timestamp) for e in project.pending_events
        ]
        recordings = self.save(project, timeline=timeline, **kwargs)
        position = recordings[-1].notification.id if recordings else None
        return CommandResult(project.id, project.version, position, ids)

    @staticmethod
    def _check_role(project: Project, actor: str, needs: ProjectRole) -> None:
        role = project.role_of(actor)
        if role is None:
            raise ProjectNotFoundError(f"project {project.id} not found")
        if not role.includes(needs):
            raise PermissionDeniedError(
                f"{actor} is {role.value} on this project; this needs {needs.value}"
            )
