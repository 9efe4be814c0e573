"""The schedule as a picture: `GET /v1/projects/{pid}/timeline.svg`, now or as of an instant."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import AwareDatetime

from api.access import StateReader
from api.deps import ContainerDep
from api.presenters import project_public
from api.schemas import AS_OF_EARLIEST, AS_OF_LATEST
from api.timeline import render_timeline
from domain.rules import today_in

router = APIRouter(tags=["queries"])

SVG = "image/svg+xml"
# Instants whose day, in any time zone, Python's dates can still hold (else a 500, not a 422).

_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {SVG: {}}, "description": "the timeline as SVG (no script)"},
    401: {"description": "missing or unknown token"},
    404: {"description": "no such project, not visible to the caller, or not yet at as_of"},
    422: {"description": "as_of is not a timestamp with a time zone"},
}


@router.get("/v1/projects/{project_id}/timeline.svg", responses=_RESPONSES, response_class=Response)
def timeline(
    access: StateReader,
    container: ContainerDep,
    as_of: Annotated[
        AwareDatetime | None,
        Query(
            description="draw the plan as it was recorded at this instant (with a time zone)",
            gt=AS_OF_EARLIEST,
            lt=AS_OF_LATEST,
        ),
    ] = None,
) -> Response:
    """Phases as bands, each milestone a diamond at its due date coloured by health (R12), its
    baseline a hollow circle with the slip as a dashed line, achieved milestones filled and
    labelled with the day achieved, and today (or the `as_of` day) as a line."""
    now = container.clock()
    project = access.project
    if as_of is not None:
        project = container.reading.past(access, lambda ledger: ledger.project_as_of(access, as_of))
    assert project is not None
    today = today_in(project.timezone, as_of or now)
    svg = render_timeline(project_public(project, now, as_of=as_of), today, as_of)
    # Health depends on the day as well as on the events: the tag is weak and dated.
    etag = f'W/"{project.version}-{today}"'
    return Response(svg, media_type=SVG, headers={"ETag": etag, "Cache-Control": "no-cache"})
