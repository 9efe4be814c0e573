"""The peer: what a good team would write with the design card's packages, and nothing more.

One eventsourcing `Application` whose aggregate's methods are `@event`-decorated, snapshots
every 100 events, the library's default PostgreSQL mode (an EXCLUSIVE lock per save), and
FastAPI routes that get → act → save: no authentication, no views, no hash chain, no
idempotency, no rules beyond the body's validation. `bench.stack` runs it as its own uvicorn
process on the same PostgreSQL server as the service (its own database, named by
`PEER_DATABASE_URL`) and reports the service's commands/s ÷ this one's, same run.

Run on its own: `PEER_DATABASE_URL=postgresql://… uvicorn --factory bench.peer:create_app`.
"""

from __future__ import annotations

import os
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse
from psycopg.conninfo import conninfo_to_dict

from api.schemas import DeliverableCreate, PhaseCreate, ProjectCreate


class PeerProject(Aggregate):
    """A project holding its phases and deliverables, as plain dicts."""

    @event("Created")
    def __init__(self, name: str, description: str, timezone: str) -> None:
        self.name = name
        self.description = description
        self.timezone = timezone
        self.phases: dict[str, str] = {}
        self.deliverables: dict[str, dict[str, Any]] = {}

    @event("PhaseAdded")
    def add_phase(self, phase_id: str, name: str) -> None:
        self.phases[phase_id] = name

    @event("DeliverableDefined")
    def define_deliverable(
        self,
        deliverable_id: str,
        title: str,
        phase_id: str,
        kind: str,
        description: str,
        owner: str | None,
    ) -> None:
        self.deliverables[deliverable_id] = {
            "title": title,
            "phase_id": phase_id,
            "kind": kind,
            "description": description,
            "owner": owner,
            "state": "draft",
        }


class PeerApplication(Application[UUID]):
    snapshotting_intervals = {PeerProject: 100}


def _env(database_url: str) -> dict[str, str]:
    parts = conninfo_to_dict(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": str(parts.get("dbname", "postgres")),
        "POSTGRES_HOST": str(parts.get("host", "127.0.0.1")),
        "POSTGRES_PORT": str(parts.get("port", "5432")),
        "POSTGRES_USER": str(parts.get("user", "postgres")),
        "POSTGRES_PASSWORD": str(parts.get("password", "")),
        "POSTGRES_POOL_SIZE": "16",
        "POSTGRES_MAX_OVERFLOW": "8",
        "CREATE_TABLE": "y",
    }


def _answer(project: PeerProject, status: int, **ids: str) -> JSONResponse:
    body = {"project_id": str(project.id), "version": project.version, "changed": True, **ids}
    return JSONResponse(body, status_code=status, headers={"ETag": f'"{project.version}"'})


def create_app(database_url: str | None = None) -> FastAPI:
    """The peer's FastAPI app on `database_url` (default: `PEER_DATABASE_URL`)."""
    url = database_url or os.environ["PEER_DATABASE_URL"]
    ledger = PeerApplication(env=_env(url))
    app = FastAPI(title="peer")

    def load(project_id: UUID) -> PeerProject:
        try:
            project: PeerProject = ledger.repository.get(project_id)
        except Exception as error:  # AggregateNotFoundError
            raise HTTPException(404, "no such project") from error
        return project

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/v1/projects", status_code=201)
    def create_project(body: ProjectCreate) -> JSONResponse:
        project = PeerProject(body.name, body.description, body.timezone)
        ledger.save(project)
        return _answer(project, 201)

    @app.post("/v1/projects/{project_id}/phases", status_code=201)
    def add_phase(project_id: UUID, body: PhaseCreate) -> JSONResponse:
        project = load(project_id)
        phase_id = str(UUID(bytes=os.urandom(16), version=4))
        project.add_phase(phase_id, body.name)
        ledger.save(project)
        return _answer(project, 201, phase_id=phase_id)

    @app.post("/v1/projects/{project_id}/deliverables", status_code=201)
    def define_deliverable(project_id: UUID, body: DeliverableCreate) -> JSONResponse:
        project = load(project_id)
        if str(body.phase_id) not in project.phases:
            raise HTTPException(422, "no such phase")
        deliverable_id = str(UUID(bytes=os.urandom(16), version=4))
        project.define_deliverable(
            deliverable_id,
            body.title,
            str(body.phase_id),
            body.kind.value,
            body.description,
            body.owner,
        )
        ledger.save(project)
        return _answer(project, 201, deliverable_id=deliverable_id)

    app.state.ledger = ledger
    return app
