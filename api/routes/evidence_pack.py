"""`GET /v1/projects/{pid}/milestones/{mid}/evidence-pack`: one achieved milestone's proof as a
zip an auditor checks offline (`milestones verify --pack`; docs/trust.md §10)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from adapters.postgres.packs import PackReads
from api import evidence_pack
from api.access import ManagerReader
from api.checkpoints import Checkpoints
from api.deps import ContainerDep
from api.problems import ProblemError

router = APIRouter(tags=["trust"])


@router.get(
    "/v1/projects/{project_id}/milestones/{milestone_id}/evidence-pack",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the pack, streamed"},
        401: {"description": "missing or unknown token"},
        403: {"description": "only the project's managers, auditors and admins take a pack"},
        404: {"description": "no such project or milestone, or not visible to the caller"},
        409: {
            "description": "the milestone is not achieved, no signed checkpoint covers its "
            "achievement yet, or the project's events predate chain link version 2"
        },
    },
)
def get_evidence_pack(
    admitted: ManagerReader,
    milestone_id: UUID,
    container: ContainerDep,
    artifacts: Annotated[
        bool, Query(description="false: leave the artifacts' bytes out (their digests stay)")
    ] = True,
) -> StreamingResponse:
    """The milestone's evidence pack: a manifest, the project's events up to a signed
    checkpoint that covers the achievement, the chain segment proving them (other projects'
    rows only as digests), the checkpoint, and the artifacts the evidence names."""
    project = admitted.project
    if project is not None and str(milestone_id) not in project.milestones:
        raise ProblemError(404, "Not Found", f"the project has no milestone {milestone_id}")
    reads = PackReads(container.pool)
    plan = evidence_pack.plan(
        reads,
        Checkpoints.of(container),
        admitted.project_id,
        milestone_id,
        with_artifacts=artifacts,
    )
    return StreamingResponse(
        evidence_pack.stream(plan, reads, container.artifacts),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{plan.filename}"'},
    )
