"""Attribution (R1) and corrections as later events (R13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import InvalidValueError
from domain.events import DeliverableDefined, DeliverableRetitled, ProjectCreated
from domain.history import event_data
from domain.project import Project

from .helpers import ALICE, BOB, CAROL, draft, milestone, new_events, new_project, phase_id


def test_every_event_records_who_caused_it_and_when_in_utc() -> None:
    before = datetime.now(UTC)
    project = Project.create(name="Apollo", actor=ALICE)
    pid = project.add_phase("Design", actor=ALICE)
    did = project.define_deliverable(title="Spec", phase_id=pid, actor=BOB)
    cid = project.add_criterion(did, "complete", actor=BOB)
    project.record_evidence(did, cid, "https://example.org", actor=BOB)
    project.submit(did, actor=BOB)
    project.approve(did, actor=CAROL)

    events = new_events(project)

    assert [(type(e).__name__, e.actor) for e in events] == [
        ("ProjectCreated", ALICE),
        ("PhaseAdded", ALICE),
        ("DeliverableDefined", BOB),
        ("CriterionAdded", BOB),
        ("EvidenceRecorded", BOB),
        ("DeliverableSubmitted", BOB),
        ("DeliverableApproved", CAROL),
    ]
    for event in events:
        assert event.occurred_at.utcoffset() == timedelta(0)
        assert before <= event.occurred_at <= datetime.now(UTC)


def test_events_occur_in_time_order() -> None:
    project = new_project()
    draft(project)
    milestone(project)
    project.rebaseline("plan", actor=ALICE)

    times = [e.occurred_at for e in new_events(project)]

    assert times == sorted(times)


def test_the_creator_is_the_actor_of_the_creation_event() -> None:
    project = Project.create(name="Apollo", actor=CAROL)

    [event] = new_events(project)

    assert isinstance(event, ProjectCreated)
    assert (event.actor, event.name, event.timezone, event.risk_window_days) == (
        CAROL,
        "Apollo",
        "UTC",
        7,
    )


def test_event_data_leaves_out_the_envelope() -> None:
    project = new_project()
    project.define_deliverable(title="Spec", phase_id=phase_id(project), actor=BOB)

    [event] = new_events(project)

    assert set(event_data(event)) == {
        "deliverable_id",
        "title",
        "description",
        "kind",
        "phase_id",
        "owner",
    }


def test_a_correction_is_a_later_event_and_the_original_fact_is_unchanged() -> None:
    project = Project.create(name="Apollo", actor=ALICE)
    project.add_phase("Design", actor=ALICE)
    did = project.define_deliverable(title="Sepc", phase_id=phase_id(project), actor=BOB)

    project.update_deliverable(did, title="Spec", actor=BOB)

    *_, defined, retitled = new_events(project)
    assert isinstance(defined, DeliverableDefined)
    assert isinstance(retitled, DeliverableRetitled)
    assert (defined.title, retitled.title) == ("Sepc", "Spec")
    assert project.deliverable(did).title == "Spec"


def test_events_cannot_be_edited() -> None:
    project = new_project()
    project.define_deliverable(title="Spec", phase_id=phase_id(project), actor=BOB)

    [event] = new_events(project)

    with pytest.raises(AttributeError):
        event.actor = "mallory"


def test_a_refused_edit_records_nothing_not_even_the_fields_before_the_bad_one() -> None:
    project = new_project()
    did = draft(project, title="Spec")

    with pytest.raises(InvalidValueError):
        project.update_deliverable(did, title="Spec v2", description="d" * 10_001, actor=BOB)

    assert new_events(project) == []
    assert project.deliverable(did).title == "Spec"
