"""Reads of the past: audit trail, a project's history and retrospective, calendar, global feed."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator, Iterator
from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api import exports
from api.access import Anyone, Looker, Overseer, Reader
from api.calendar import milestones_calendar
from api.deps import ContainerDep
from api.feed import FeedNotifier
from api.presenters_history import feed_event, history_event, retrospective_public
from api.problems import ProblemError
from api.routes.queries import MinPosition, _wait_for_view
from api.schemas.history import AuditPage, FeedEvent, FeedPage, HistoryPage, RetrospectivePublic
from projections.audit import AuditFilter, audit_page, iter_audit

router = APIRouter(tags=["history"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    404: {"description": "no such project, or not visible to the caller"},
    422: {"description": "a malformed parameter (a naive timestamp, a bad cursor, limit > 1000)"},
}

AUDIT_COLUMNS = (
    "position",
    "occurred_at",
    "project_id",
    "version",
    "entity_kind",
    "entity_id",
    "type",
    "actor",
    "summary",
    "data",
)
HISTORY_COLUMNS = ("version", "position", "type", "actor", "occurred_at", "data")

Limit = Annotated[int, Query(ge=1, le=1000, description="rows per page (at most 1000)")]
Accept = Annotated[str | None, Header()]


# --- audit trail ---------------------------------------------------------------------------


@router.get("/v1/audit", response_model=AuditPage, responses=_ERRORS)
def audit(
    container: ContainerDep,
    caller: Anyone,
    project_id: UUID | None = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    accept: Accept = None,
    min_position: MinPosition = None,
) -> Any:
    """Every event of the projects the caller may read, newest first; filters combine.

    JSON pages by `cursor`; `Accept: text/csv` or `application/x-ndjson` streams every match.
    """
    _wait_for_view(container, "audit", min_position)
    where = AuditFilter(project_id, entity_id, actor, type, since, until)
    before = _decode_cursor(cursor)
    reader, read_all = caller.name, caller.reads_everything
    export = exports.negotiate(accept)
    if export is not exports.Format.JSON:

        def rows() -> Iterator[dict[str, Any]]:
            with container.pool.connection() as conn:
                yield from iter_audit(conn, where, reader=reader, read_all=read_all, before=before)

        return exports.stream(rows(), export, AUDIT_COLUMNS, "audit")
    with container.pool.connection() as conn:
        items = audit_page(
            conn, where, reader=reader, read_all=read_all, before=before, limit=limit
        )
    next_cursor = _encode_cursor(items[-1]["position"]) if len(items) == limit else None
    return {"items": items, "next_cursor": next_cursor}


def _encode_cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"audit:{position}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, _, position = text.partition(":")
        if kind != "audit":
            raise ValueError(kind)
        return int(position)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ProblemError(
            422,
            "Invalid request",
            "cursor is not one this API handed out; pass next_cursor as it came",
            slug="invalid-request",
            errors=[{"field": "cursor", "message": "unknown cursor"}],
        ) from None


# --- one project's past --------------------------------------------------------------------


@router.get("/v1/projects/{project_id}/history", response_model=HistoryPage, responses=_ERRORS)
def history(
    project_id: UUID,
    container: ContainerDep,
    access: Looker,
    after_version: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="default 100 (JSON)")] = None,
    accept: Accept = None,
) -> Any:
    """The project's events in version order, with their global positions.

    JSON pages by `after_version`; `Accept: text/csv` or `application/x-ndjson` streams them
    all (or `limit` of them).
    """
    export = exports.negotiate(accept)
    page = (limit or 100) if export is exports.Format.JSON else limit
    events = container.ledger.project_events(access, after_version=after_version, limit=page)
    if export is not exports.Format.JSON:
        rows = (history_event(e, position) for e, position in events)
        return exports.stream(rows, export, HISTORY_COLUMNS, f"history-{project_id}")
    shown = [history_event(e, position) for e, position in events]
    more = page is not None and len(shown) == page
    return {
        "project_id": project_id,
        "events": shown,
        "next_after_version": shown[-1]["version"] if more else None,
    }


@router.get(
    "/v1/projects/{project_id}/retrospective",
    response_model=RetrospectivePublic,
    responses=_ERRORS,
)
def retrospective(project_id: UUID, container: ContainerDep, access: Looker) -> RetrospectivePublic:
    """Per milestone: baselines, final due, slips, reschedules, reopenings and the review rounds
    of its deliverables; project totals. Replayed from the events, so right for any past."""
    retro = container.ledger.project_retrospective(access)
    return retrospective_public(retro)


@router.get(
    "/v1/projects/{project_id}/calendar.ics",
    responses={**_ERRORS, 200: {"content": {"text/calendar": {}}}},
    response_class=Response,
)
def calendar(project_id: UUID, container: ContainerDep, access: Reader) -> Response:
    """The milestones as an iCalendar feed to subscribe to: one all-day event per milestone."""
    project = access.project
    assert project is not None
    return Response(
        milestones_calendar(project, container.clock()),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'inline; filename="milestones-{project_id}.ics"'},
    )


# --- the global feed -------------------------------------------------------------------------


# The global feed is for admins and auditors (api.access).
FeedReader = Overseer


@router.get(
    "/v1/events", response_model=FeedPage, responses={**_ERRORS, 403: {"description": "not admin"}}
)
def events(
    container: ContainerDep,
    caller: FeedReader,
    after: Annotated[int, Query(ge=0, description="the last position already read")] = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Every project's events after `after`, in commit order (admins and auditors).

    Positions increase with commit order but may have gaps; resume with `after=next_after`.
    """
    page = container.ledger.feed(after, limit)
    shown = [feed_event(e, position) for e, position in page]
    return {"events": shown, "next_after": shown[-1]["position"] if shown else after}


# A stream ends after this long at most (the client resumes with Last-Event-ID).
STREAM_MAX_SECONDS = 3600.0
KEEPALIVE_SECONDS = 15.0
STREAM_PAGE = 500


@router.get(
    "/v1/events/stream",
    responses={
        **_ERRORS,
        403: {"description": "not admin"},
        200: {"content": {"text/event-stream": {}}},
    },
    response_class=StreamingResponse,
)
async def event_stream(
    request: Request,
    container: ContainerDep,
    caller: FeedReader,
    after: Annotated[int, Query(ge=0)] = 0,
    max_seconds: Annotated[
        float, Query(gt=0, le=STREAM_MAX_SECONDS, description="end the stream after this long")
    ] = 300.0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> StreamingResponse:
    """The global feed as Server-Sent Events (`id` = position); reconnect with `Last-Event-ID`
    to resume after the last event received. Woken by each commit; keep-alive comments every
    15 s; ends after `max_seconds` or when the client goes."""
    start = _resume_from(last_event_id, after)
    notifier = _notifier(request, container)
    return StreamingResponse(
        _sse(request, container, notifier, start, max_seconds),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _resume_from(last_event_id: str | None, after: int) -> int:
    if last_event_id is None:
        return after
    try:
        position = int(last_event_id)
    except ValueError:
        position = -1
    if position < 0:
        raise ProblemError(
            422,
            "Invalid request",
            "Last-Event-ID must be the position of an event this stream sent",
            slug="invalid-request",
        )
    return position


async def close_feed(app: Any) -> None:
    """Stop this app's feed listener, if a stream started one (on shutdown)."""
    notifier: FeedNotifier | None = getattr(app.state, "feed", None)
    if notifier is not None:
        await notifier.close()


def _notifier(request: Request, container: ContainerDep) -> FeedNotifier:
    notifier: FeedNotifier | None = getattr(request.app.state, "feed", None)
    if notifier is None:
        channel: str | None = getattr(container.ledger.recorder, "channel_name", None)
        notifier = FeedNotifier(container.database_url, channel)
        request.app.state.feed = notifier
    return notifier


async def _sse(
    request: Request,
    container: ContainerDep,
    notifier: FeedNotifier,
    after: int,
    max_seconds: float,
) -> AsyncIterator[str]:
    await notifier.start()
    deadline = anyio.current_time() + max_seconds
    yield f"retry: 2000\n: events after position {after}\n\n"
    while not await request.is_disconnected():
        # Noted before reading: a commit after the read still wakes the wait below.
        generation = notifier.generation
        page = await anyio.to_thread.run_sync(container.ledger.feed, after, STREAM_PAGE)
        for event, position in page:
            body = FeedEvent.model_validate(feed_event(event, position)).model_dump_json()
            yield f"id: {position}\ndata: {body}\n\n"
            after = position
        remaining = deadline - anyio.current_time()
        if remaining <= 0:
            return
        if len(page) == STREAM_PAGE:
            continue
        if not await notifier.wait_after(generation, min(KEEPALIVE_SECONDS, remaining)):
            yield ": keep-alive\n\n"
