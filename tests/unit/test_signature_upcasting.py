"""Signatures with meaning (R27) and named groups (R26) on events stored before them.

`STORED_BEFORE_SIGNATURES` is byte for byte what the code before this change wrote for a
quorum of two with a veto, a reopen, a completed round, and a milestone achieved and reopened
(DeliverableApprovalSigned v1, DeliverableApproved v4, DeliverableRejected, DeliverableReopened,
MilestoneAchieved and MilestoneReopened v1, DeliverableQuorumSet v1). They must decode, replay
into the same project, and read as signatures whose printed name, digest and (but for the
approvals, which always meant `approval`) meaning were not recorded: None, never invented.
"""

from __future__ import annotations

import hashlib
import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from domain import events as ev
from domain.entities import SignatureMeaning
from domain.project import Project
from domain.roles import ProjectRole
from domain.states import DeliverableState, MilestoneStatus

PROJECT = UUID("5d0c5a53-2c77-4a8e-9d3c-0f6f4bf7a101")
DELIVERABLE = UUID("8da34d30-3fbe-4c41-872b-be3733766c04")
MILESTONE = UUID("d39413d7-a269-4cdf-91fb-4af9b4c30cfc")

# fmt: off
STORED_BEFORE_SIGNATURES: list[tuple[str, bytes]] = [
    (
        'domain.events:ProjectCreated',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467509+00:00'
        b'"},"originator_topic":"domain.project:Project","actor":"alice","name":"Apollo","'
        b'description":"","timezone":"UTC","risk_window_days":7}',
    ),
    (
        'domain.events:MemberAdded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467670+00:00'
        b'"},"actor":"alice","principal":"bob","role":"contributor"}',
    ),
    (
        'domain.events:MemberAdded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467693+00:00'
        b'"},"actor":"alice","principal":"carol","role":"reviewer"}',
    ),
    (
        'domain.events:MemberAdded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467702+00:00'
        b'"},"actor":"alice","principal":"dave","role":"reviewer"}',
    ),
    (
        'domain.events:PhaseAdded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467728+00:00'
        b'"},"actor":"alice","phase_id":{"_type_":"uuid_hex","_data_":"768eb5144a3a4274acf'
        b'd3124154b6043"},"name":"Design"}',
    ),
    (
        'domain.events:DeliverableDefined',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467765+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"title":"Spec","description":"","kind":"other","phase_id":{"'
        b'_type_":"uuid_hex","_data_":"768eb5144a3a4274acfd3124154b6043"},"owner":null}',
    ),
    (
        'domain.events:CriterionAdded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467807+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"criterion_id":{"_type_":"uuid_hex","_data_":"a8aa78318ba948'
        b'4c86e69cec85fe932a"},"text":"has a summary"}',
    ),
    (
        'domain.events:EvidenceRecorded',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467836+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"criterion_id":{"_type_":"uuid_hex","_data_":"a8aa78318ba948'
        b'4c86e69cec85fe932a"},"evidence":"https://example.org/spec.pdf","sha256":null,"ar'
        b'tifact":null,"class_version":2}',
    ),
    (
        'domain.events:DeliverableQuorumSet',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467873+00:00'
        b'"},"actor":"alice","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4'
        b'c41872bbe3733766c04"},"required_approvals":2,"previous_required_approvals":1}',
    ),
    (
        'domain.events:DeliverableSubmitted',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467900+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"note":null}',
    ),
    (
        'domain.events:DeliverableApprovalSigned',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467930+00:00'
        b'"},"actor":"carol","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4'
        b'c41872bbe3733766c04"},"comment":null,"meaning":"approval","evidence_digests":[{"'
        b'criterion_id":"a8aa7831-8ba9-484c-86e6-9cec85fe932a","artifact":null,"sha256":nu'
        b'll}],"required_approvals":2}',
    ),
    (
        'domain.events:DeliverableRejected',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467949+00:00'
        b'"},"actor":"dave","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c'
        b'41872bbe3733766c04"},"reason":"no summary"}',
    ),
    (
        'domain.events:DeliverableSubmitted',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467965+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"note":null}',
    ),
    (
        'domain.events:DeliverableReopened',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467982+00:00'
        b'"},"actor":"alice","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4'
        b'c41872bbe3733766c04"},"reason":"wrong file"}',
    ),
    (
        'domain.events:DeliverableSubmitted',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.467996+00:00'
        b'"},"actor":"bob","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c4'
        b'1872bbe3733766c04"},"note":null}',
    ),
    (
        'domain.events:DeliverableApprovalSigned',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.468008+00:00'
        b'"},"actor":"carol","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4'
        b'c41872bbe3733766c04"},"comment":null,"meaning":"approval","evidence_digests":[{"'
        b'criterion_id":"a8aa7831-8ba9-484c-86e6-9cec85fe932a","artifact":null,"sha256":nu'
        b'll}],"required_approvals":2}',
    ),
    (
        'domain.events:DeliverableApproved',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.468021+00:00'
        b'"},"actor":"dave","deliverable_id":{"_type_":"uuid_hex","_data_":"8da34d303fbe4c'
        b'41872bbe3733766c04"},"comment":null,"meaning":"approval","evidence_digests":[{"c'
        b'riterion_id":"a8aa7831-8ba9-484c-86e6-9cec85fe932a","artifact":null,"sha256":nul'
        b'l}],"signers":["carol","dave"],"required_approvals":2,"class_version":4}',
    ),
    (
        'domain.events:MilestoneDefined',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.468054+00:00'
        b'"},"actor":"alice","milestone_id":{"_type_":"uuid_hex","_data_":"d39413d7a2694cd'
        b'f91fb4af9b4c30cfc"},"name":"Design frozen","phase_id":{"_type_":"uuid_hex","_dat'
        b'a_":"768eb5144a3a4274acfd3124154b6043"},"due":{"_type_":"date_iso","_data_":"202'
        b'7-01-15"},"deliverable_ids":[{"_type_":"uuid_hex","_data_":"8da34d303fbe4c41872b'
        b'be3733766c04"}]}',
    ),
    (
        'domain.events:MilestoneAchieved',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.468091+00:00'
        b'"},"actor":"alice","milestone_id":{"_type_":"uuid_hex","_data_":"d39413d7a2694cd'
        b'f91fb4af9b4c30cfc"},"note":null}',
    ),
    (
        'domain.events:MilestoneReopened',
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T06:07:55.468113+00:00'
        b'"},"actor":"alice","milestone_id":{"_type_":"uuid_hex","_data_":"d39413d7a2694cd'
        b'f91fb4af9b4c30cfc"},"reason":"stale evidence"}',
    ),
]
# fmt: on


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "adapters.memory:MemoryFactory"})


def _decode(ledger: Ledger) -> list[ev.ProjectEvent]:
    events = []
    for version, (topic, state) in enumerate(STORED_BEFORE_SIGNATURES, start=1):
        stored = StoredEvent(
            originator_id=PROJECT, originator_version=version, topic=topic, state=state
        )
        event = ledger.mapper.to_domain_event(stored)
        assert isinstance(event, ev.ProjectEvent)
        events.append(event)
    return events


def _replayed(events: list[ev.ProjectEvent]) -> Project:
    project: Project | None = None
    for event in events:
        project = event.mutate(project)
    assert isinstance(project, Project)
    return project


def test_old_signing_events_read_with_their_manifestation_not_recorded(ledger: Ledger) -> None:
    events = _decode(ledger)

    signing = [
        e
        for e in events
        if isinstance(
            e,
            ev.DeliverableApprovalSigned
            | ev.DeliverableApproved
            | ev.DeliverableRejected
            | ev.DeliverableReopened
            | ev.MilestoneAchieved
            | ev.MilestoneReopened,
        )
    ]

    assert [type(e).__name__ for e in signing] == [
        "DeliverableApprovalSigned",
        "DeliverableRejected",
        "DeliverableReopened",
        "DeliverableApprovalSigned",
        "DeliverableApproved",
        "MilestoneAchieved",
        "MilestoneReopened",
    ]
    for event in signing:
        assert (event.signer_name, event.signed_digest) == (None, None)
    meanings = [e.meaning for e in signing]
    assert meanings == ["approval", None, None, "approval", "approval", None, None]
    [quorum] = [e for e in events if isinstance(e, ev.DeliverableQuorumSet)]
    assert (quorum.required_approvals, quorum.required_groups) == (2, [])
    approved = signing[4]
    assert isinstance(approved, ev.DeliverableApproved)
    assert (approved.signers, approved.required_groups) == (["carol", "dave"], [])


def test_old_events_replay_into_the_same_project_with_no_groups(ledger: Ledger) -> None:
    project = _replayed(_decode(ledger))

    assert project.version == len(STORED_BEFORE_SIGNATURES)
    deliverable = project.deliverable(DELIVERABLE)
    assert deliverable.state is DeliverableState.APPROVED
    assert (deliverable.required_approvals, deliverable.required_groups) == (2, [])
    assert deliverable.approvals == ["carol", "dave"]
    assert project.milestone(MILESTONE).status is MilestoneStatus.NOT_ACHIEVED
    assert project.groups == {}


def test_new_signing_events_are_stored_at_their_new_versions_with_the_manifestation(
    ledger: Ledger,
) -> None:
    project = _replayed(_decode(ledger))

    project.achieve(MILESTONE, signer_name="Alice Liddell", actor="alice")
    project.reopen_milestone(MILESTONE, "new tests", meaning=SignatureMeaning.REVIEW, actor="alice")
    stored = [ledger.mapper.to_stored_event(e) for e in project.collect_events()]
    states = [json.loads(s.state) for s in stored]

    assert [(s["class_version"], s["meaning"], s["signer_name"]) for s in states] == [
        (2, "responsibility", "Alice Liddell"),
        (2, "review", "alice"),  # no printed name given: the principal's name
    ]
    assert all(len(s["signed_digest"]) == 64 for s in states)
    assert [ledger.mapper.to_domain_event(s).signed_digest for s in stored] == [  # type: ignore[attr-defined]
        s["signed_digest"] for s in states
    ]


def test_a_snapshot_taken_before_groups_loads_with_none(ledger: Ledger) -> None:
    project = _replayed(_decode(ledger))
    snapshot = Project.Snapshot.take(project)
    stored = ledger.mapper.to_stored_event(snapshot)
    state = json.loads(stored.state)
    # What a version 2 snapshot held: no groups, no required groups on a deliverable.
    del state["state"]["groups"]
    state["state"]["class_version"] = 2
    for deliverable in state["state"]["deliverables"].values():
        del deliverable["_data_"]["required_groups"]
    for milestone in state["state"]["milestones"].values():
        del milestone["_data_"]["achieved_signer_name"], milestone["_data_"]["achieved_meaning"]
    old = StoredEvent(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=json.dumps(state).encode(),
    )

    decoded = ledger.mapper.to_domain_event(old)
    assert isinstance(decoded, Project.Snapshot)
    loaded = decoded.mutate(None)

    assert isinstance(loaded, Project)
    assert loaded.groups == {}
    assert loaded.deliverable(DELIVERABLE).required_groups == []
    reopened = loaded.milestone(MILESTONE)
    assert (reopened.achieved_signer_name, reopened.achieved_meaning) == (None, None)
    loaded.set_group("QA", ["carol"], actor="alice")
    assert loaded.groups == {"QA": ["carol"]}


def _sha256_of(document: object) -> str:
    """The digest as docs/trust.md §11 tells an auditor to take it, written out here again."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def test_an_approval_digest_is_recomputed_from_the_events_alone(ledger: Ledger) -> None:
    project = _replayed(_decode(ledger)[:-5])  # the second round, before its approvals
    assert project.deliverable(DELIVERABLE).state is DeliverableState.IN_REVIEW
    project.set_member("erin", ProjectRole.REVIEWER, actor="alice")

    project.approve(DELIVERABLE, actor="carol")
    project.approve(DELIVERABLE, actor="erin")
    events = project.collect_events()
    first, approved = events[-2], events[-1]

    # What was signed, read from the stored events: the title (DeliverableDefined), the
    # criterion's text (CriterionAdded) and its evidence (EvidenceRecorded).
    decoded = _decode(ledger)
    [criterion] = [e for e in decoded if isinstance(e, ev.CriterionAdded)]
    [evidence] = [e for e in decoded if isinstance(e, ev.EvidenceRecorded)]
    document = {
        "deliverable_id": str(DELIVERABLE),
        "title": "Spec",
        "from": "in_review",
        "criteria": [
            {
                "criterion_id": str(criterion.criterion_id),
                "text": criterion.text,
                "evidence": evidence.evidence,
                "artifact": None,
                "sha256": evidence.sha256,
            }
        ],
    }
    assert isinstance(first, ev.DeliverableApprovalSigned)
    assert isinstance(approved, ev.DeliverableApproved)
    assert first.signed_digest == _sha256_of({**document, "to": "in_review"})
    assert approved.signed_digest == _sha256_of({**document, "to": "approved"})


def test_an_achievement_digest_is_recomputed_from_the_events_alone(ledger: Ledger) -> None:
    project = _replayed(_decode(ledger)[:-2])  # approved, the milestone defined

    project.achieve(MILESTONE, actor="alice")
    [achieved] = project.collect_events()

    [criterion] = [e for e in _decode(ledger) if isinstance(e, ev.CriterionAdded)]
    document = {
        "milestone_id": str(MILESTONE),
        "name": "Design frozen",
        "due": "2027-01-15",
        "from": "not_achieved",
        "to": "achieved",
        "deliverables": [
            {
                "deliverable_id": str(DELIVERABLE),
                "evidence_digests": [
                    {"criterion_id": str(criterion.criterion_id), "artifact": None, "sha256": None}
                ],
            }
        ],
    }
    assert isinstance(achieved, ev.MilestoneAchieved)
    assert achieved.signed_digest == _sha256_of(document)


def test_the_digest_changes_with_what_was_signed(ledger: Ledger) -> None:
    one = _replayed(_decode(ledger)[:-2])
    other = _replayed(_decode(ledger)[:-2])
    other.reschedule(MILESTONE, other.milestone(MILESTONE).due.replace(day=20), "x", actor="alice")

    one.achieve(MILESTONE, actor="alice")
    other.achieve(MILESTONE, actor="alice")

    assert one.collect_events()[-1].signed_digest != other.collect_events()[-1].signed_digest  # type: ignore[attr-defined]
