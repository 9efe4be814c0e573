"""The framework floor: the service's FastAPI + uvicorn, its route path and request body, no work.

`POST /v1/projects/{project_id}/deliverables` with the service's body model
(`api.schemas.DeliverableCreate`, so the same pydantic validation), answered `201` from memory
with the service's answer's fields: no database, no authentication, no rules, no views. No
command path of this stack can be faster; `bench.stack` reports the service's commands/s ÷
this one's, same run, same load generator, same uvicorn settings.

Run on its own: `uvicorn bench.floor:app --port 8001`.
"""

from __future__ import annotations

import itertools
from uuid import UUID, uuid4

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from api.schemas import DeliverableCreate

app = FastAPI(title="framework floor")
_positions = itertools.count(1)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/projects/{project_id}/deliverables", status_code=201)
def define_deliverable(project_id: UUID, body: DeliverableCreate) -> JSONResponse:
    """A sync route function, like the service's: the same hop to the thread pool."""
    position = next(_positions)
    answer = {
        "project_id": str(project_id),
        "version": position,
        "position": position,
        "changed": True,
        "deliverable_id": str(uuid4()),
    }
    return JSONResponse(answer, status_code=201, headers={"ETag": f'"{position}"'})
