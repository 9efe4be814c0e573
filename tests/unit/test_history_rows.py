"""A history row read from the stored JSON is the row of the decoded event; an event stored by
an older class version, or with a leaf of a kind the direct reading does not know, is decoded."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    StoredEvent,
    UUIDAsHex,
)

from application.history_rows import history_row
from domain import events as ev
from domain.history import json_data
from domain.transcodings import register_domain_transcodings

AT = datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=UTC)


def mapper() -> Mapper[Any]:
    # As the ledger's: the library's transcodings, then the domain's.
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    register_domain_transcodings(transcoder)
    return Mapper(transcoder=transcoder)


def decode_with(found: Mapper[Any]) -> Any:
    def decode(stored: StoredEvent) -> ev.ProjectEvent:
        event = found.to_domain_event(stored)
        assert isinstance(event, ev.ProjectEvent)
        return event

    return decode


def make(cls: Callable[..., ev.ProjectEvent], **fields: Any) -> ev.ProjectEvent:
    return cls(**fields)


def stored_of(found: Mapper[Any], event: ev.ProjectEvent) -> StoredEvent:
    return found.to_stored_event(event)


def test_a_row_read_from_the_stored_json_is_the_decoded_events_row() -> None:
    found = mapper()
    event = make(
        ev.MilestoneRescheduled,
        originator_id=uuid4(),
        originator_version=7,
        timestamp=AT,
        actor="alice",
        milestone_id=uuid4(),
        previous_due=date(2026, 4, 1),
        due=date(2026, 4, 8),
        reason="the supplier is late: ünïcode",
    )

    row = history_row(stored_of(found, event), 42, "rq-1", decode_with(found), ())

    assert row.event is None  # read directly
    assert (row.version, row.position, row.type_name) == (7, 42, "MilestoneRescheduled")
    assert (row.actor, row.timestamp, row.correlation_id) == ("alice", AT, "rq-1")
    assert row.data == json_data(event)
    assert list(row.data) == list(json_data(event))  # the same order of fields


def test_an_event_stored_by_an_older_class_version_is_decoded_and_upcast() -> None:
    found = mapper()
    event = make(
        ev.EvidenceRecorded,
        originator_id=uuid4(),
        originator_version=3,
        timestamp=AT,
        actor="bob",
        deliverable_id=uuid4(),
        criterion_id=uuid4(),
        evidence="https://docs.example.com/1",
        sha256=None,
    )
    stored = stored_of(found, event)
    state = json.loads(stored.state)
    del state["class_version"], state["artifact"]  # as version 1 stored it
    old = StoredEvent(stored.originator_id, 3, stored.topic, json.dumps(state).encode())

    row = history_row(old, 5, None, decode_with(found), ())

    assert row.event is not None
    assert row.data == json_data(event)


def test_an_event_with_a_leaf_of_another_kind_is_decoded() -> None:
    found = mapper()
    event = make(
        ev.MemberAdded,
        originator_id=uuid4(),
        originator_version=2,
        timestamp=AT,
        actor="alice",
        principal="carol",
        role=Decimal("1.5"),  # a leaf of a kind the direct reading does not know
    )

    row = history_row(stored_of(found, event), 2, None, decode_with(found), ())

    assert row.event is not None
    assert row.data["role"] == Decimal("1.5")


def test_the_events_of_the_asked_types_come_decoded() -> None:
    found = mapper()
    event = make(
        ev.PhaseAdded,
        originator_id=uuid4(),
        originator_version=2,
        timestamp=AT,
        actor="alice",
        phase_id=uuid4(),
        name="Design",
    )

    row = history_row(stored_of(found, event), 2, None, decode_with(found), (ev.PhaseAdded,))

    assert isinstance(row.event, ev.PhaseAdded)
    assert row.data == json_data(event)
