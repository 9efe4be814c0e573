"""Reads of a long history (issue 20) answer what the row-by-row reading answered: the history
export (each page of events read with its correlation ids, made a page at a time) and the
retrospective (the event types its replay ignores left undecoded), on a generated project of
600 events whose saves carried correlation ids, as a service's requests' do."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from api import exports
from api.bootstrap import Container
from api.presenters_history import history_event
from api.routes.history import HISTORY_COLUMNS
from api.titles import REFERENCES
from application.access import GlobalRole, Principal
from application.ports import AsOfEntry, CorrelationEntry
from bench import workload
from domain.retrospective import retrospective
from domain.roles import ProjectRole
from projections.audit.summaries import name_given
from tests.integration.conftest import User, Users

EVENTS = 600


@pytest.fixture(scope="module")
def long_project(container: Container) -> UUID:
    """~600 events saved 200 at a time, as three requests' saves: the first two with the
    correlation id "long-story-1", the third "long-story-2"; then one saved outside any
    request (none kept)."""
    ledger = container.ledger
    project, phases = workload.new_project("Long history")
    rng = random.Random(5)
    for n, story in enumerate(["long-story-1", "long-story-1", "long-story-2"], 1):
        workload.grow(project, phases, EVENTS * n // 3, rng)
        events = project.collect_events()
        ledger.save(
            *events,
            as_of=[AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in events],
            correlations=[
                CorrelationEntry(e.originator_id, e.originator_version, story) for e in events
            ],
        )
    project.set_member("long-reader", ProjectRole.VIEWER, actor=workload.MANAGER)
    events = project.collect_events()
    ledger.save(
        *events,
        as_of=[AsOfEntry(e.originator_id, e.originator_version, e.timestamp) for e in events],
    )
    return project.id


@pytest.fixture
def auditor(users: Users) -> User:
    return users("auditor", GlobalRole.AUDITOR)


def row_by_row(container: Container, pid: UUID, export: exports.Format) -> str:
    """The history export as it was made before issue 20's change: every event decoded, its
    row made from the event, the names folded from the events, the correlation ids looked up
    a page of rows later, each row through every stage in turn."""
    ledger = container.ledger
    admitted = ledger.admit(pid, Principal("auditor", GlobalRole.AUDITOR), keep_state=False)

    def titled() -> Iterator[dict[str, Any]]:
        names: dict[str, str] = {}
        for event, position in ledger.project_events(admitted, page_size=exports.PAGE):
            given = name_given(event)
            if given is not None:
                names[given[0]] = given[1]
            row = history_event(event, position)
            for field, column in REFERENCES:
                value = getattr(event, field, None)
                row[field] = None if value is None else str(value)
                row[column] = None if value is None else names.get(str(value))
            yield row

    def correlated(rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        while chunk := list(itertools.islice(rows, exports.PAGE)):
            found = ledger.correlation_ids([(pid, row["version"]) for row in chunk])
            for row in chunk:
                row["correlation_id"] = found.get((pid, row["version"]))
                yield row

    rows = exports.with_signature(correlated(titled()))
    if export is exports.Format.CSV:
        return "".join(exports._csv(rows, HISTORY_COLUMNS))
    return "".join(exports._ndjson(rows))


@pytest.mark.parametrize("export", [exports.Format.CSV, exports.Format.NDJSON])
def test_the_export_of_a_long_history_is_the_one_read_row_by_row(
    container: Container, long_project: UUID, auditor: User, export: exports.Format
) -> None:
    response = auditor.get(
        f"/v1/projects/{long_project}/history/export",
        params={"format": "csv" if export is exports.Format.CSV else "ndjson"},
    )

    assert response.status_code == 200, response.text
    assert response.text == row_by_row(container, long_project, export)
    # What the comparison covers: a long history, and correlation ids kept and not kept.
    assert response.text.count("long-story-1") >= 400
    assert "long-story-2" in response.text
    assert response.text.count("\n") > EVENTS


def test_the_history_pages_show_each_events_correlation_id(
    long_project: UUID, auditor: User
) -> None:
    response = auditor.get(f"/v1/projects/{long_project}/history", params={"limit": 1000})

    assert response.status_code == 200, response.text
    shown = [event["correlation_id"] for event in response.json()["events"]]
    runs = [(story, len(list(run))) for story, run in itertools.groupby(shown)]
    assert [story for story, _ in runs] == ["long-story-1", "long-story-2", None]
    assert runs[0][1] >= EVENTS * 2 // 3
    assert runs[2][1] == 1


def test_the_retrospective_of_a_long_history_is_the_replay_of_every_event(
    container: Container, long_project: UUID
) -> None:
    ledger = container.ledger
    admitted = ledger.admit(
        long_project, Principal("auditor", GlobalRole.AUDITOR), keep_state=False
    )

    every = retrospective(event for event, _ in ledger.project_events(admitted))

    assert ledger.project_retrospective(admitted) == every
    assert every.version > EVENTS
