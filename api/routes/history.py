"""Reads of the past: audit trail, a project's history and retrospective, calendar, global feed."""

from __future__ import annotations

import base64
import binascii
import itertools
from collections.abc import AsyncIterator, Callable, Collection, Iterator, Sequence
from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

import anyio
from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api import exports
from api.access import Anyone, Looker, Reader
from api.bootstrap import Container
from api.calendar import milestones_calendar
from api.deps import ContainerDep, ServingDep
from api.exports import SIGNATURE_COLUMNS, with_signature
from api.feed import Frames, ReadFrames, Visible
from api.presenters_history import (
    DIFF_COLUMNS,
    baselines_public,
    diff_json,
    diff_rows,
    feed_event,
    history_event,
    retrospective_public,
)
from api.problems import ProblemError
from api.reading import Target
from api.routes.queries import MinPosition
from api.schemas.history import (
    AuditPage,
    BaselinesPublic,
    DiffPublic,
    FeedEvent,
    FeedPage,
    HistoryPage,
    RetrospectivePublic,
)
from api.serving import Serving
from api.streams import BoundedStreamingResponse
from api.titles import NAMING, TITLE_COLUMNS, titled_audit, titled_history
from api.webhooks.noticetail import NoticeTail
from application.access import Principal
from application.ledger import Ledger
from domain.events import ProjectEvent
from projections.audit import AuditFilter, audit_page, iter_audit
from projections.projects.queries import readable_projects

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
    "correlation_id",
    "data",
    *SIGNATURE_COLUMNS,
    *TITLE_COLUMNS,
)
HISTORY_COLUMNS = (
    "version",
    "position",
    "type",
    "actor",
    "occurred_at",
    "correlation_id",
    "data",
    *SIGNATURE_COLUMNS,
    *TITLE_COLUMNS,
)

Limit = Annotated[int, Query(ge=1, le=1000, description="rows per page (at most 1000)")]
Accept = Annotated[str | None, Header()]
ToPosition = Annotated[
    int | None,
    Query(
        ge=1,
        description="only events at or before this global position (inclusive): the trail as "
        "it stood after that event, e.g. a history event's `position`",
    ),
]


# --- audit trail ---------------------------------------------------------------------------


@router.get("/v1/audit", response_model=AuditPage, responses=_ERRORS)
async def audit(
    container: ContainerDep,
    serving: ServingDep,
    caller: Anyone,
    project_id: UUID | None = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    to_position: ToPosition = None,
    cursor: Annotated[str | None, Query(max_length=100)] = None,
    limit: Limit = 100,
    accept: Accept = None,
    min_position: MinPosition = None,
) -> Any:
    """Every event of the projects the caller may read, newest first; filters combine.

    JSON pages by `cursor`; `Accept: text/csv` or `application/x-ndjson` streams every match,
    newest first: every row at or below the newest one when the export began, each once
    (rows added meanwhile are newer, and left for the next export). An export that runs past
    `MILESTONES_EXPORT_DEADLINE` (600 s), or whose client accepts nothing for
    `MILESTONES_SEND_TIMEOUT` (30 s), is cut off: the connection closes before the end of the
    body, so it is visibly incomplete. Export rows carry, after `data`, the deliverable,
    milestone and phase the event names, each with its title or name just after the event."""
    target = await serving.waits.target(caller.name, "audit", min_position)
    reading = container.reading
    reader, read_all = caller.name, caller.oversees
    scope = await run_in_threadpool(reading.scope, target, reader, read_all, caller.projects)
    where = AuditFilter(
        project_id, entity_id, actor, type, since, until, scope, to_position=to_position
    )
    before = _decode_cursor(cursor)
    export = exports.negotiate(accept)
    if export is not exports.Format.JSON:
        # A page per transaction, none held while the client reads (see iter_audit).
        rows = iter_audit(
            target.pool.connection,
            where,
            reader=reader,
            read_all=read_all,
            before=before,
            page=exports.PAGE,
        )
        rows = _correlated(target.ledger, rows, lambda row: (row["project_id"], row["version"]))
        rows = titled_audit(target.pool.connection, rows)
        return _export(container, serving, with_signature(rows), export, AUDIT_COLUMNS, "audit")

    def page(on: Target) -> tuple[list[dict[str, Any]], dict[tuple[UUID, int], str]]:
        with on.pool.connection() as conn:
            found = audit_page(
                conn, where, reader=reader, read_all=read_all, before=before, limit=limit
            )
        # The correlation ids were committed with the events: where the rows are, they are.
        return found, on.ledger.correlation_ids([_audit_key(item) for item in found])

    items, correlated = await run_in_threadpool(reading.run, target, page)
    keys = [_audit_key(item) for item in items]
    for item, key in zip(items, keys, strict=True):
        item["correlation_id"] = correlated.get(key)
    next_cursor = _encode_cursor(items[-1]["position"]) if len(items) == limit else None
    return {"items": items, "next_cursor": next_cursor}


class ExportFormat(StrEnum):
    """The file formats of the `…/export` routes (the same rows as `Accept` chooses)."""

    CSV = "csv"
    NDJSON = "ndjson"


_MEDIA = {
    ExportFormat.CSV: str(exports.Format.CSV),
    ExportFormat.NDJSON: str(exports.Format.NDJSON),
}
_FILE = {"schema": {"type": "string", "format": "binary"}}
# An export's answer, as a generated client reads it: bytes of one of these media types.
_EXPORTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the rows as a file (`format`), streamed; cut off as `Accept` exports are",
        "content": {str(exports.Format.CSV): _FILE, str(exports.Format.NDJSON): _FILE},
    },
}
Format = Annotated[ExportFormat, Query(description="csv (the default) or ndjson")]


@router.get("/v1/audit/export", response_class=Response, responses={**_ERRORS, **_EXPORTED})
async def audit_export(
    container: ContainerDep,
    serving: ServingDep,
    caller: Anyone,
    format: Format = ExportFormat.CSV,
    project_id: UUID | None = None,
    entity_id: Annotated[str | None, Query(max_length=200)] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    type: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[AwareDatetime | None, Query(description="inclusive")] = None,
    until: Annotated[AwareDatetime | None, Query(description="exclusive")] = None,
    to_position: ToPosition = None,
    min_position: MinPosition = None,
) -> Any:
    """The audit trail as a file: `GET /v1/audit` with `Accept: text/csv` or
    `application/x-ndjson`, for clients that name the format rather than negotiate it."""
    return await audit(
        container,
        serving,
        caller,
        project_id=project_id,
        entity_id=entity_id,
        actor=actor,
        type=type,
        since=since,
        until=until,
        to_position=to_position,
        cursor=None,
        limit=100,
        accept=_MEDIA[format],
        min_position=min_position,
    )


def _export(
    container: Container,
    serving: Serving,
    rows: Any,
    export: exports.Format,
    columns: tuple[str, ...],
    filename: str,
) -> BoundedStreamingResponse:
    settings = container.settings
    return exports.stream(
        rows,
        export,
        columns,
        filename,
        limiter=serving.bulk,
        deadline=settings.export_deadline,
        send_timeout=settings.send_timeout,
    )


def _audit_key(row: dict[str, Any]) -> tuple[UUID, int]:
    return row["project_id"], row["version"]


def _correlated(
    ledger: Ledger,
    rows: Iterator[dict[str, Any]],
    key: Callable[[dict[str, Any]], tuple[UUID, int]],
) -> Iterator[dict[str, Any]]:
    """An export's rows, each with its correlation id, looked up a page of rows at a time (in
    the export's own thread, holding nothing between pages)."""
    while chunk := list(itertools.islice(rows, exports.PAGE)):
        correlated = ledger.correlation_ids([key(row) for row in chunk])
        for row in chunk:
            row["correlation_id"] = correlated.get(key(row))
            yield row


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
    serving: ServingDep,
    access: Looker,
    after_version: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="default 100 (JSON)")] = None,
    accept: Accept = None,
) -> Any:
    """The project's events in version order, with their global positions.

    JSON pages by `after_version`; `Accept: text/csv` or `application/x-ndjson` streams them
    all (or `limit` of them), a page per read: events the project gains meanwhile are
    appended, in order. Exports are cut off as `/v1/audit`'s are (deadline, send timeout);
    their rows carry titles beside ids as `/v1/audit`'s do."""
    export = exports.negotiate(accept)
    reading = container.reading
    if export is not exports.Format.JSON:
        # A replica that fails mid-export cuts it off (visibly incomplete), as a deadline does.
        ledger = reading.with_version(access).ledger
        # Each page of events read with its correlation ids (one read a page).
        streamed = ledger.project_history_rows(
            access,
            after_version=after_version,
            limit=limit,
            page_size=exports.PAGE,
            decoded=NAMING,
        )
        # The events before the first exported, only for the names they give.
        earlier = (
            (
                event
                for event, _ in ledger.project_events(
                    access, after_version=0, limit=after_version, page_size=exports.PAGE
                )
            )
            if after_version
            else ()
        )
        rows = with_signature(exports.batched(titled_history(earlier, streamed)))
        return _export(container, serving, rows, export, HISTORY_COLUMNS, f"history-{project_id}")
    page = limit or 100

    def read(ledger: Ledger) -> list[tuple[ProjectEvent, int, str | None]]:
        return list(ledger.project_history(access, after_version=after_version, limit=page))

    shown = [history_event(*found) for found in reading.past(access, read)]
    more = len(shown) == page
    return {
        "project_id": project_id,
        "events": shown,
        "next_after_version": shown[-1]["version"] if more else None,
    }


@router.get(
    "/v1/projects/{project_id}/history/export",
    response_class=Response,
    responses={**_ERRORS, **_EXPORTED},
)
def history_export(
    project_id: UUID,
    container: ContainerDep,
    serving: ServingDep,
    access: Looker,
    format: Format = ExportFormat.CSV,
    after_version: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int | None, Query(ge=1, le=1000, description="default: all")] = None,
) -> Any:
    """The project's events as a file: `…/history` with `Accept: text/csv` or
    `application/x-ndjson`, for clients that name the format rather than negotiate it."""
    return history(
        project_id,
        container,
        serving,
        access,
        after_version=after_version,
        limit=limit,
        accept=_MEDIA[format],
    )


@router.get(
    "/v1/projects/{project_id}/retrospective",
    response_model=RetrospectivePublic,
    responses=_ERRORS,
)
def retrospective(project_id: UUID, container: ContainerDep, access: Looker) -> RetrospectivePublic:
    """Per milestone: baselines, final due, slips, reschedules, reopenings and the review rounds
    of its deliverables; project totals. Replayed from the events, so right for any past."""
    retro = container.reading.past(access, lambda ledger: ledger.project_retrospective(access))
    return retrospective_public(retro)


@router.get("/v1/projects/{project_id}/diff", response_model=DiffPublic, responses=_ERRORS)
def project_diff(
    project_id: UUID,
    container: ContainerDep,
    serving: ServingDep,
    access: Looker,
    since: Annotated[
        str,
        Query(
            alias="from",
            max_length=300,
            description="now, baseline:NAME, or an ISO 8601 instant with its offset",
        ),
    ],
    until: Annotated[str, Query(alias="to", max_length=300, description="as `from`")] = "now",
    accept: Accept = None,
) -> Any:
    """What changed between two points: milestones, deliverables, criteria, links and
    dependencies added, removed and changed (field: old → new), each with the events that
    changed it (type, actor, time, reason). Built from the project at `from` and the events
    between the two only. `Accept: text/csv` or `application/x-ndjson`: one row per field."""
    found = container.reading.past(access, lambda ledger: ledger.project_diff(access, since, until))
    export = exports.negotiate(accept)
    if export is not exports.Format.JSON:
        rows = diff_rows(found)
        return _export(container, serving, rows, export, DIFF_COLUMNS, f"diff-{project_id}")
    return diff_json(found)


@router.get(
    "/v1/projects/{project_id}/baselines", response_model=BaselinesPublic, responses=_ERRORS
)
def baselines(project_id: UUID, container: ContainerDep, access: Reader) -> BaselinesPublic:
    """Every baseline the project saved (R7, R19), oldest first: its name, who saved it, when
    and why, and per milestone it holds the slip of the due date now against it."""
    project = access.project
    assert project is not None
    found = container.ledger.project_baselines(access, up_to_version=project.version)
    return baselines_public(project, found)


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


# Everyone follows the feed: admins and auditors every project's events, a member (or a scoped
# token) those of the projects it may read.
FeedReader = Anyone


def visible_to(container: Container, caller: Principal) -> Visible | None:
    """What `caller`'s feed shows: None for everything (admins and auditors); a scoped
    overseer's token its projects; a member the projects it is a member of now (within its
    token's scope), as of the projects view's position, which bounds what it is shown: every
    membership change up to there is known, so an event shown or passed over never has to be
    looked at again."""
    if caller.reads_everything:
        return None
    if caller.oversees:
        assert caller.projects is not None
        return Visible(caller.projects)
    with container.pool.connection() as conn:
        readable = readable_projects(conn, caller.name, caller.projects)
    return Visible(readable.projects, readable.position)


@router.get("/v1/events", response_model=FeedPage, responses=_ERRORS)
def events(
    container: ContainerDep,
    caller: FeedReader,
    after: Annotated[int, Query(ge=0, description="the last position already read")] = 0,
    limit: Limit = 100,
    correlation_id: Annotated[
        str | None,
        Query(min_length=1, max_length=255, description="only the events this request caused"),
    ] = None,
) -> dict[str, Any]:
    """The events after `after` of every project the caller may read, in commit order: all of
    them for admins and auditors, a member's own projects' (as of the projects view). With
    `correlation_id`, only those one request caused (its Idempotency-Key or X-Request-ID).

    Positions increase with commit order but may have gaps; resume with `after=next_after`.
    A member's `next_after` may pass events of projects it does not read.
    """
    visible = visible_to(container, caller)
    projects, until = (None, None) if visible is None else (visible.projects, visible.until)
    page = container.ledger.feed(
        after, limit, projects=projects, until=until, correlation_id=correlation_id
    )
    shown = _feed_events(container, page)
    next_after = shown[-1]["position"] if shown else after
    if until is not None and len(shown) < limit:
        # Every event of the member's up to `until` is in this page: it need not look again.
        next_after = max(next_after, until)
    return {"events": shown, "next_after": next_after}


# A stream ends after this long at most (the client resumes with Last-Event-ID).
STREAM_MAX_SECONDS = 3600.0
# Events a stream behind the tail reads and sends at once (a page is held until it is sent).
STREAM_PAGE = 200
# An open stream checks its token at least this often (and before every batch of events):
# revocation and expiry end it within a second.
TOKEN_RECHECK = 0.5


@router.get(
    "/v1/events/stream",
    responses={**_ERRORS, 200: {"content": {"text/event-stream": {}}}},
    response_class=StreamingResponse,
)
async def event_stream(
    request: Request,
    container: ContainerDep,
    serving: ServingDep,
    caller: FeedReader,
    after: Annotated[int, Query(ge=0)] = 0,
    max_seconds: Annotated[
        float, Query(gt=0, le=STREAM_MAX_SECONDS, description="end the stream after this long")
    ] = 300.0,
    last_event_id: Annotated[str | None, Header()] = None,
) -> BoundedStreamingResponse:
    """The feed as Server-Sent Events (`id` = position): every project's events for admins and
    auditors, a member's own projects' (re-read at least every 0.5 s); reconnect with
    `Last-Event-ID` to resume after the last event received. Woken by each commit; keep-alive
    comments every 15 s (`MILESTONES_STREAM_KEEPALIVE`); ends after `max_seconds`, when the
    client goes, when the caller's token is revoked or expires (within a second), or when the
    server stops."""
    start = _resume_from(last_event_id, after)
    token: str = request.state.token
    settings = container.settings
    return BoundedStreamingResponse(
        _sse(
            serving,
            lambda principal: visible_to(container, principal),
            token,
            start,
            max_seconds,
            settings.stream_keepalive,
            serving.notices,
        ),
        # A client that reads nothing still has its stream end on time.
        deadline=max_seconds + 1.0,
        send_timeout=settings.send_timeout,
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


def feed_frames(container: Container) -> ReadFrames:
    """Reads the feed's next events (of some projects only, up to a position, when told) and
    renders each as its Server-Sent-Events frame."""

    def read(
        after: int, limit: int, projects: Collection[UUID] | None, until: int | None
    ) -> Frames:
        page = container.ledger.feed(after, limit, projects=projects, until=until)
        shown = _feed_events(container, page)
        return [
            (position, _frame(item, position), event.originator_id)
            for item, (event, position) in zip(shown, page, strict=True)
        ]

    return read


def _feed_events(
    container: Container, page: Sequence[tuple[ProjectEvent, int]]
) -> list[dict[str, Any]]:
    """The page's events as the feed shows them, each with its correlation id (one read)."""
    keys = [(event.originator_id, event.originator_version) for event, _ in page]
    correlated = container.ledger.correlation_ids(keys)
    return [
        feed_event(event, position, correlated.get(key))
        for (event, position), key in zip(page, keys, strict=True)
    ]


def _frame(shown: dict[str, Any], position: int) -> str:
    body = FeedEvent.model_validate(shown).model_dump_json()
    return f"id: {position}\ndata: {body}\n\n"


async def _sse(
    serving: Serving,
    visible_to: Callable[[Principal], Visible | None],
    token: str,
    after: int,
    max_seconds: float,
    keepalive: float,
    notices: NoticeTail,
) -> AsyncIterator[str]:
    feed, tokens = serving.feed, serving.tokens
    with feed.following():
        now = anyio.current_time()
        deadline, quiet_until = now + max_seconds, now + keepalive
        visible: Visible | None = None
        seen_by: Principal | None = None
        visible_until = now  # when a member's projects are read again
        yield f"retry: 2000\n: events after position {after}\n\n"
        # R20's notices, live: `event: notice` frames with no id (api.webhooks.noticetail).
        noticed = await notices.start()
        while True:
            if feed.draining:
                yield ": the server is stopping; resume with Last-Event-ID\n\n"
                return
            principal = await tokens.principal(token)
            if principal is None:
                yield ": the token no longer lets this stream in\n\n"
                return
            if principal != seen_by or (visible is not None and now >= visible_until):
                # A member's projects (and the position they are known at), read again at
                # most every TOKEN_RECHECK s, in a thread of the bulk reads' limiter.
                visible = await anyio.to_thread.run_sync(
                    visible_to, principal, limiter=serving.bulk
                )
                seen_by, visible_until = principal, now + TOKEN_RECHECK
            # Noted before reading: a commit after the read still wakes the wait below.
            generation = feed.generation
            frames, after = await feed.frames_after(after, STREAM_PAGE, visible)
            notice_frames, noticed = await notices.after(
                noticed, None if visible is None else visible.projects
            )
            now = anyio.current_time()
            if frames or notice_frames:
                yield "".join(frames) + notice_frames
                quiet_until = now + keepalive
            if now >= deadline:
                return
            if len(frames) == STREAM_PAGE:
                continue  # a backlog: the next page at once
            if now >= quiet_until:
                yield ": keep-alive\n\n"
                quiet_until = now + keepalive
            wake = min(deadline, quiet_until, now + TOKEN_RECHECK)
            await feed.wait(generation, wake - now)
