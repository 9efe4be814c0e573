"""Query routes: the current state from the event-sourced project, the rest from the views."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Header, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import AwareDatetime

from api import paging
from api.access import Anyone, Looker, Reader, StateReader
from api.deps import ContainerDep, ServingDep
from api.presenters import project_json
from api.problems import ProblemError
from api.reading import Target
from api.schemas import (
    AS_OF_EARLIEST,
    AS_OF_LATEST,
    Alignment,
    ProjectPublic,
    ProjectSummary,
    Schedule,
)
from domain.rules import today_in
from domain.validation import NAME_MAX
from projections.projects import list_projects
from projections.projects.queries import MAX_PAGE, PAGE
from projections.schedule import get_alignment, get_schedule

router = APIRouter(prefix="/v1/projects", tags=["queries"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    404: {"description": "no such project, or not visible to the caller"},
    503: {"description": "the view has not reached min_position within 5 s; see Retry-After"},
}

_LIST_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    422: {
        "description": "a malformed parameter (a cursor this API did not hand out, limit > 1000)"
    },
}
# A cursor names a project's name: room for the longest, escaped and base64'd.
CURSOR_MAX = 8 * NAME_MAX + 100

MinPosition = Annotated[
    int | None,
    Query(ge=0, description="wait (≤ 5 s) until the view has processed this global position"),
]


def _not_seen_yet(view: str) -> ProblemError:
    """The project exists (its events say so) but the view has not processed it yet."""
    return ProblemError(
        503,
        "View not caught up",
        f"the {view} view has not processed this project yet; retry, or pass min_position",
        slug="view-lagging",
        headers={"Retry-After": "1"},
    )


@router.get("", response_model=list[ProjectSummary], responses=_LIST_ERRORS)
async def projects(
    container: ContainerDep,
    serving: ServingDep,
    caller: Anyone,
    response: Response,
    min_position: MinPosition = None,
    limit: Annotated[
        int,
        Query(
            ge=1, le=MAX_PAGE, description=f"projects per page (default {PAGE}, at most {MAX_PAGE})"
        ),
    ] = PAGE,
    cursor: Annotated[
        str | None,
        Query(
            max_length=CURSOR_MAX,
            description="where the page starts: pass the cursor of the Link header's next page",
        ),
    ] = None,
) -> list[dict[str, Any]]:
    """The projects the caller may read, by name, with counts and the next due milestone; a
    page at a time: when more may follow, `Link: <...>; rel="next"` names the next page."""
    after = paging.decode(cursor)
    # Waits (if at all) on the event loop; then the read costs one worker thread.
    target = await serving.waits.target(caller.name, "projects", min_position)
    reading = container.reading
    scope = await run_in_threadpool(
        reading.scope, target, caller.name, caller.oversees, caller.projects
    )

    def read(on: Target) -> list[dict[str, Any]]:
        with on.pool.connection() as conn:
            return list_projects(
                conn, caller.name, caller.oversees, scope, after=after, limit=limit
            )

    page = await run_in_threadpool(container.reading.run, target, read)
    if len(page) == limit:
        last = page[-1]
        response.headers["Link"] = paging.next_link(
            "/v1/projects", paging.encode(last["name"], last["id"]), limit, min_position
        )
    return page


@router.get(
    "/{project_id}",
    # The answer is serialised by `project_json` (see api.presenters), not from this model,
    # which still describes it, byte for byte, in the OpenAPI document.
    response_model=ProjectPublic,
    responses=_ERRORS,
)
def project(
    project_id: UUID,
    container: ContainerDep,
    access: StateReader,
    if_none_match: Annotated[str | None, Header()] = None,
    as_of: Annotated[
        AwareDatetime | None,
        Query(
            description="the state as recorded at this instant (with a time zone), from events",
            gt=AS_OF_EARLIEST,
            lt=AS_OF_LATEST,
        ),
    ] = None,
) -> Response:
    """The current state, read from the project's events (always reflects every acknowledged
    command). The ETag is the version that `If-Match` expects.

    With `as_of`, the state as it was recorded at that instant, rebuilt from the events up to
    it (404 before the project existed); the caller needs a role on the project now."""
    if as_of is not None:
        past = container.reading.past(access, lambda ledger: ledger.project_as_of(access, as_of))
        return _json(project_json(past, container.clock(), as_of=as_of))
    # The state the admission just read from the store (with every acknowledged command).
    state = access.project
    assert state is not None
    etag = f'"{state.version}"'
    if weakly_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    return _json(project_json(state, container.clock()), {"ETag": etag})


def weakly_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether `If-None-Match` names `etag` by the weak comparison (RFC 9110 §13.1.2), which is
    the one it uses: `W/` is ignored on both sides; `*` matches any."""
    if if_none_match is None:
        return False
    opaque = etag.removeprefix("W/")
    return any(
        tag.strip() == "*" or tag.strip().removeprefix("W/") == opaque
        for tag in if_none_match.split(",")
    )


def _json(body: bytes, headers: dict[str, str] | None = None) -> Response:
    return Response(body, media_type="application/json", headers=headers)


@router.get("/{project_id}/schedule", response_model=Schedule, responses=_ERRORS)
async def schedule(
    project_id: UUID,
    container: ContainerDep,
    serving: ServingDep,
    access: Looker,
    response: Response,
    min_position: MinPosition = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Phases in order, each with its milestones: due, baseline, slip, health, deliverables."""
    target = await serving.waits.target(access.principal.name, "schedule", min_position)
    now = container.clock()

    def read(on: Target) -> dict[str, Any] | None:
        with on.pool.connection() as conn:
            return get_schedule(conn, project_id, now)

    view = await run_in_threadpool(container.reading.run, target, read)
    if view is None:  # the project exists but the view has not seen it yet
        raise _not_seen_yet("schedule")
    # Weak: health depends on the day as well as on the events.
    etag = f'W/"{view["version"]}-{view["today"]}"'
    if weakly_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return view


@router.get("/{project_id}/alignment", response_model=Alignment, responses=_ERRORS)
async def alignment(
    project_id: UUID,
    container: ContainerDep,
    serving: ServingDep,
    access: Reader,
    response: Response,
    min_position: MinPosition = None,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """R11: milestones without deliverables, deliverables without milestones or criteria."""
    state = access.project
    assert state is not None
    target = await serving.waits.target(access.principal.name, "schedule", min_position)

    def read(on: Target) -> dict[str, Any] | None:
        with on.pool.connection() as conn:
            return get_alignment(conn, project_id)

    view = await run_in_threadpool(container.reading.run, target, read)
    if view is None:
        raise _not_seen_yet("schedule")
    etag = f'W/"{state.version}-{today_in(state.timezone, container.clock())}"'
    if weakly_matches(if_none_match, etag):
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return {"project_id": project_id, **view}
