"""Reads of a project's past, replayed from its events through the domain (never from a view):
the state as recorded at an instant, the history with positions, the retrospective, the feed.

Each takes the request's `Admission` (the reader let in to the project now: a former member does
not keep reading a project it was removed from), so the project is authorised once.

The as-of index that finds a project's version at an instant is a derived record (the
application role may append to it), so its answer is used only when the events' own times bear
it out (`index_agrees`); otherwise the events decide.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from application.access import Admission
from application.history_rows import HistoryRow, history_row
from application.loading import ProjectLoading
from application.past import DEFAULT_BUDGET, PAST_STATES_BYTES, PastStates
from application.ports import LedgerStore
from domain.baselines import Baseline, baselines
from domain.diff import Change, diff
from domain.errors import InvalidValueError, ProjectNotFoundError
from domain.events import ProjectEvent
from domain.project import Project
from domain.retrospective import PASSED_OVER, Replay, Retrospective

log = logging.getLogger(__name__)

# How many events a read of a project's history fetches at a time.
HISTORY_PAGE = 1000


def index_agrees(version: int | None, instant: datetime, recorded: Mapping[int, datetime]) -> bool:
    """Whether the events bear out the as-of index's answer `version` (None: the project did not
    exist yet) for `instant`: the event at that version was recorded at or before the instant,
    and the next one after it. `recorded` holds the times of those two events, where they exist
    (for None: of the project's first event)."""
    if version is None:
        first = recorded.get(1)
        return first is None or first > instant
    at, after = recorded.get(version), recorded.get(version + 1)
    return at is not None and at <= instant and (after is None or after > instant)


@dataclass(frozen=True)
class DiffPoint:
    """One end of a diff: as given, the version it names, and the instant when it is one."""

    given: str
    version: int
    instant: datetime | None


@dataclass(frozen=True)
class ProjectDiff:
    project_id: UUID
    start: DiffPoint
    end: DiffPoint
    changes: list[Change]


Row = TypeVar("Row", bound=tuple[Any, ...])


def _paged(
    read: Callable[[int, int], Sequence[Row]],
    after_version: int,
    limit: int | None,
    page_size: int,
) -> Iterator[Row]:
    """The rows `read(after_version, page)` gives (each a stored event first), read a page at a
    time until `limit` rows or the last."""
    remaining = limit
    while remaining is None or remaining > 0:
        page = page_size if remaining is None else min(page_size, remaining)
        rows = read(after_version, page)
        yield from rows
        if len(rows) < page:
            return
        after_version = rows[-1][0].originator_version
        remaining = None if remaining is None else remaining - len(rows)


class ProjectReads(ProjectLoading):
    """The ledger's reads of the past (see the module's docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # States of the past rebuilt once, for the next reads of them (application.past).
        raw = self.env.get(PAST_STATES_BYTES)
        self.past = PastStates(DEFAULT_BUDGET if raw in (None, "") else int(raw))

    @property
    def store(self) -> LedgerStore:
        raise NotImplementedError

    def project_as_of(self, admitted: Admission, instant: datetime) -> Project:
        """The project as recorded at `instant`, rebuilt from its events (snapshot + tail);
        not found before the project existed."""
        version = self.version_at(admitted.project_id, instant)
        if version is None:
            raise ProjectNotFoundError(
                f"project {admitted.project_id} did not exist at {instant.isoformat()}"
            )
        return self.state_at(admitted.project_id, version)

    def state_at(self, project_id: UUID, version: int) -> Project:
        """A private copy of the project at `version` (which it has reached): a state kept
        from an earlier read, or replayed from one, or rebuilt from the store (snapshot + tail)
        and then kept (`application.past`)."""

        def events_after(after: int, limit: int) -> Iterator[ProjectEvent]:
            return (event for event, _ in self._events_of(project_id, after, limit))

        return self.past.state_at(
            project_id, version, lambda v: self._rebuilt(project_id, v), events_after
        )

    def _rebuilt(self, project_id: UUID, version: int) -> Project:
        """The project at `version`: this process's cached project when it is at that version
        (the same events made it), or else the store's snapshot and events."""
        with self._load_lock(project_id):
            cached = self.peek(project_id)
            if cached is not None and cached.version == version:
                copy: Project = deepcopy(cached)
                return copy
        return self.load(project_id, version)

    def version_at(self, project_id: UUID, instant: datetime) -> int | None:
        """The project's last version recorded at or before `instant` (None: none yet): the
        as-of index's answer, checked against the times its events record (read with it)."""
        hint, around = self.store.version_at(project_id, instant)
        recorded = {stored.originator_version: self._event(stored).timestamp for stored in around}
        if index_agrees(hint, instant, recorded):
            return hint
        log.warning(
            "the as-of index answers version %s of project %s at %s, which its events do not "
            "bear out (a forged or orphaned row?): the events' own times decide",
            hint,
            project_id,
            instant.isoformat(),
        )
        found: int | None = None
        for event, _ in self._events_of(project_id):
            if event.timestamp <= instant:
                found = max(found or 0, event.originator_version)
        return found

    def project_events(
        self,
        admitted: Admission,
        *,
        after_version: int = 0,
        limit: int | None = None,
        page_size: int = HISTORY_PAGE,
    ) -> Iterator[tuple[ProjectEvent, int]]:
        """The project's events after `after_version` in version order, with their positions,
        read `page_size` at a time, each page its own read (an export of a long history never
        holds it all in memory, nor a connection between pages)."""
        return self._events_of(admitted.project_id, after_version, limit, page_size)

    def _events_of(
        self,
        project_id: UUID,
        after_version: int = 0,
        limit: int | None = None,
        page_size: int = HISTORY_PAGE,
    ) -> Iterator[tuple[ProjectEvent, int]]:
        for stored, position in self._stored_of(project_id, after_version, limit, page_size):
            yield self._event(stored), position

    def project_history(
        self,
        admitted: Admission,
        *,
        after_version: int = 0,
        limit: int | None = None,
        page_size: int = HISTORY_PAGE,
    ) -> Iterator[tuple[ProjectEvent, int, str | None]]:
        """`project_events`, each with its correlation id (which request caused it; None when
        none was kept), read with the events: one read a page."""
        found = self._history_of(admitted.project_id, after_version, limit, page_size)
        for stored, position, correlation_id in found:
            yield self._event(stored), position, correlation_id

    def project_history_rows(
        self,
        admitted: Admission,
        *,
        after_version: int = 0,
        limit: int | None = None,
        page_size: int = HISTORY_PAGE,
        decoded: tuple[type[ProjectEvent], ...] = (),
    ) -> Iterator[HistoryRow]:
        """`project_history` as rows (`application.history_rows`): each read from its stored
        JSON, the events of the `decoded` types (and any that cannot be read so) decoded."""
        if self.mapper.compressor is not None or self.mapper.cipher is not None:
            decoded = (ProjectEvent,)  # the stored bytes are not the JSON
        found = self._history_of(admitted.project_id, after_version, limit, page_size)
        for stored, position, correlation_id in found:
            yield history_row(stored, position, correlation_id, self._event, decoded)

    def _stored_of(
        self,
        project_id: UUID,
        after_version: int = 0,
        limit: int | None = None,
        page_size: int = HISTORY_PAGE,
    ) -> Iterator[tuple[StoredEvent, int]]:
        """The project's stored events (not decoded), a page per read."""

        def read(after: int, page: int) -> Sequence[tuple[StoredEvent, int]]:
            return self.store.select_project_events(project_id, after_version=after, limit=page)

        return _paged(read, after_version, limit, page_size)

    def _history_of(
        self, project_id: UUID, after_version: int, limit: int | None, page_size: int
    ) -> Iterator[tuple[StoredEvent, int, str | None]]:
        """The project's stored events with their correlation ids (not decoded), a page per
        read."""

        def read(after: int, page: int) -> Sequence[tuple[StoredEvent, int, str | None]]:
            return self.store.select_project_history(project_id, after_version=after, limit=page)

        return _paged(read, after_version, limit, page_size)

    def project_baselines(self, admitted: Admission, up_to_version: int) -> list[Baseline]:
        """R19: every baseline the project saved up to a version, replayed from its events
        (the version of the project the caller compares them with)."""
        events = self.project_events(admitted, limit=up_to_version)
        return baselines(event for event, _ in events)

    def project_diff(self, admitted: Admission, since: str, until: str) -> ProjectDiff:
        """What changed between two points (`now`, `baseline:NAME` or an ISO 8601 instant with
        its offset): the project at the first, then only the events between the two."""
        project_id = admitted.project_id
        current = self.load(project_id)
        start = self._point(project_id, current, "from", since)
        end = self._point(project_id, current, "to", until)
        if start.version > end.version:
            raise InvalidValueError("from", f"{since!r} is after to {until!r}")
        before = None if start.version == 0 else self.state_at(project_id, start.version)
        events = self._events_of(
            project_id, after_version=start.version, limit=end.version - start.version
        )
        return ProjectDiff(project_id, start, end, diff(before, (e for e, _ in events)))

    def _point(self, project_id: UUID, current: Project, field: str, given: str) -> DiffPoint:
        """The version a point names (0: before the project existed)."""
        if given == "now":
            return DiffPoint(given, current.version, None)
        if given.startswith("baseline:"):
            name = given.removeprefix("baseline:")
            version = current.baseline_version(name)
            if version is None:
                raise InvalidValueError(field, f"no baseline named {name!r} in this project")
            return DiffPoint(given, version, None)
        try:
            instant = datetime.fromisoformat(given)
        except ValueError:
            instant = None
        if instant is None or instant.tzinfo is None:
            raise InvalidValueError(
                field, "must be now, baseline:NAME or an ISO 8601 instant with its offset"
            )
        return DiffPoint(given, self.version_at(project_id, instant) or 0, instant)

    def project_retrospective(self, admitted: Admission) -> Retrospective:
        """Slips, reschedules and review rounds, replayed from every event of the project;
        those of a type the replay passes over are not decoded (a fifth of a long project's)."""
        replay = Replay()
        for stored, _ in self._stored_of(admitted.project_id):
            if issubclass(resolve_topic(stored.topic), PASSED_OVER):
                replay.pass_over(stored.originator_version)
            else:
                replay.apply(self._event(stored))
        return replay.result()

    def feed(
        self,
        after: int,
        limit: int,
        *,
        projects: Collection[UUID] | None = None,
        until: int | None = None,
        correlation_id: str | None = None,
    ) -> list[tuple[ProjectEvent, int]]:
        """Every project's events after global position `after`, in commit order; only those
        of `projects` (at or below `until`) when given; only those one request caused when
        `correlation_id` is given.

        The store's ordering lock makes commit order equal position order, so a reader that
        resumes after the last position it saw never skips an event (positions may have gaps).
        Who may read it, and which projects, is the caller's to decide.
        """
        if correlation_id is not None:
            notifications = self.store.read_correlated(
                correlation_id, after, limit, projects, until
            )
        elif projects is None:
            notifications = self.store.read_page(after, limit)
        else:
            notifications = self.store.read_page_of(projects, after, limit, until)
        events = [(self.mapper.to_domain_event(n), n.id) for n in notifications]
        return [(e, position) for e, position in events if isinstance(e, ProjectEvent)]

    def correlation_ids(self, events: Sequence[tuple[UUID, int]]) -> dict[tuple[UUID, int], str]:
        """The correlation ids (which request caused them) of these events (project, version)."""
        return self.store.correlation_ids(events)

    def _event(self, stored: StoredEvent) -> ProjectEvent:
        event = self.mapper.to_domain_event(stored)
        assert isinstance(event, ProjectEvent)
        return event
