"""The views' decoder (`application.decoding`) reads every stored event as the library's mapper
does: the same class and fields for events of every stored version (upcast the same way),
snapshots with their nested entities and dates, and the same failure for what cannot be read."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import MapperDeserialisationError, StoredEvent

from application.decoding import decoder_of
from application.ledger import Ledger
from domain.project import Project

from .helpers import draft, in_review, new_events, new_project
from .test_signature_upcasting import STORED_BEFORE_SIGNATURES
from .test_upcasting import STORED_BEFORE_V2

PROJECT = UUID("5d0c5a53-2c77-4a8e-9d3c-0f6f4bf7a101")


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "adapters.memory:MemoryFactory"})


def _same(ledger: Ledger, stored: StoredEvent) -> None:
    expected: Any = ledger.mapper.to_domain_event(stored)
    decoded: Any = decoder_of(ledger.mapper)(stored)
    assert type(decoded) is type(expected)
    assert vars(decoded) == vars(expected)
    assert {k: type(v) for k, v in vars(decoded).items()} == {
        k: type(v) for k, v in vars(expected).items()
    }


@pytest.mark.parametrize("stored_as", ["before approval meanings", "before signatures"])
def test_events_stored_by_earlier_versions_decode_as_the_mapper_upcasts_them(
    ledger: Ledger, stored_as: str
) -> None:
    log = STORED_BEFORE_V2 if stored_as == "before approval meanings" else STORED_BEFORE_SIGNATURES
    for version, (topic, state) in enumerate(log, start=1):
        _same(ledger, StoredEvent(PROJECT, version, topic, state))


def test_events_of_today_and_a_snapshot_decode_as_the_mapper_reads_them(ledger: Ledger) -> None:
    project = new_project()
    draft(project, criteria=2)
    in_review(project, title="Plan")
    for event in [*new_events(project), Project.Snapshot.take(project)]:
        _same(ledger, ledger.mapper.to_stored_event(event))


def _failure(decode: Any, stored: StoredEvent) -> tuple[type, str]:
    with pytest.raises(Exception) as failed:  # noqa: PT011 (any failure: the mapper's)
        decode(stored)
    return type(failed.value), str(failed.value)


def test_a_stored_event_the_mapper_cannot_read_fails_the_same_way(ledger: Ledger) -> None:
    unknown_type = b'{"timestamp":{"_type_":"nope","_data_":"x"},"actor":"a"}'
    not_a_uuid = b'{"phase_id":{"_type_":"uuid_hex","_data_":"x"},"actor":"a"}'
    for state in (b'{"actor": "a", ', b"[1, 2]", b" {}x", unknown_type, not_a_uuid):
        stored = StoredEvent(PROJECT, 1, "domain.events:MemberAdded", state)
        expected = _failure(ledger.mapper.to_domain_event, stored)
        assert _failure(decoder_of(ledger.mapper), stored) == expected
    assert expected[0] is MapperDeserialisationError
