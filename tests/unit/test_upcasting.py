"""Events stored by an earlier version of an event class still load: the upcasting path.

The stored events below are byte for byte what the code before `DeliverableApproved` version 2
wrote (an approval then had no `meaning`). They must decode, replay into the same project, and
read as approvals with the meaning `approval`. (The stored bytes never change, so the hash chain
over them is untouched: tests/integration/test_migrations.py verifies it on a database written
by the earlier code.)
"""

from __future__ import annotations

import json
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent

from application.ledger import Ledger
from domain import events as ev
from domain.entities import ArtifactRef, GateDecisionKind, SignatureMeaning
from domain.project import Project
from domain.states import DeliverableState

from .helpers import draft, new_project

PROJECT = UUID("5d0c5a53-2c77-4a8e-9d3c-0f6f4bf7a101")
DELIVERABLE = UUID("e2694296-976c-4f31-96d7-51900314303c")
CRITERION = UUID("1c5f7ac9-6864-4e6f-aae8-1df091a62b14")

# (topic, state) of each event, as stored by the code before version 2 of DeliverableApproved.
STORED_BEFORE_V2: list[tuple[str, bytes]] = [
    (
        "domain.events:ProjectCreated",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097545+00:00"},'
        b'"originator_topic":"domain.project:Project","actor":"alice","name":"Apollo",'
        b'"description":"","timezone":"UTC","risk_window_days":7}',
    ),
    (
        "domain.events:PhaseAdded",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097680+00:00"},'
        b'"actor":"alice","phase_id":{"_type_":"uuid_hex",'
        b'"_data_":"c3b52f46fbbc491fbf3dd669824cac14"},"name":"Design"}',
    ),
    (
        "domain.events:MemberAdded",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097711+00:00"},'
        b'"actor":"alice","principal":"bob","role":"contributor"}',
    ),
    (
        "domain.events:MemberAdded",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097727+00:00"},'
        b'"actor":"alice","principal":"carol","role":"reviewer"}',
    ),
    (
        "domain.events:DeliverableDefined",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097751+00:00"},'
        b'"actor":"bob","deliverable_id":{"_type_":"uuid_hex",'
        b'"_data_":"e2694296976c4f3196d751900314303c"},"title":"Spec","description":"",'
        b'"kind":"other","phase_id":{"_type_":"uuid_hex",'
        b'"_data_":"c3b52f46fbbc491fbf3dd669824cac14"},"owner":null}',
    ),
    (
        "domain.events:CriterionAdded",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097792+00:00"},'
        b'"actor":"bob","deliverable_id":{"_type_":"uuid_hex",'
        b'"_data_":"e2694296976c4f3196d751900314303c"},"criterion_id":{"_type_":"uuid_hex",'
        b'"_data_":"1c5f7ac968644e6faae81df091a62b14"},"text":"has a summary"}',
    ),
    (
        "domain.events:EvidenceRecorded",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097820+00:00"},'
        b'"actor":"bob","deliverable_id":{"_type_":"uuid_hex",'
        b'"_data_":"e2694296976c4f3196d751900314303c"},"criterion_id":{"_type_":"uuid_hex",'
        b'"_data_":"1c5f7ac968644e6faae81df091a62b14"},"evidence":"https://example.org/spec.pdf",'
        b'"sha256":null}',
    ),
    (
        "domain.events:DeliverableSubmitted",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097847+00:00"},'
        b'"actor":"bob","deliverable_id":{"_type_":"uuid_hex",'
        b'"_data_":"e2694296976c4f3196d751900314303c"},"note":null}',
    ),
    (
        "domain.events:DeliverableApproved",
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:41.097869+00:00"},'
        b'"actor":"carol","deliverable_id":{"_type_":"uuid_hex",'
        b'"_data_":"e2694296976c4f3196d751900314303c"},"comment":"looks right"}',
    ),
]


@pytest.fixture(scope="module")
def ledger() -> Ledger:
    return Ledger(env={"PERSISTENCE_MODULE": "adapters.memory:MemoryFactory"})


def _decode(ledger: Ledger) -> list[ev.ProjectEvent]:
    events = []
    for version, (topic, state) in enumerate(STORED_BEFORE_V2, start=1):
        stored = StoredEvent(
            originator_id=PROJECT, originator_version=version, topic=topic, state=state
        )
        event = ledger.mapper.to_domain_event(stored)
        assert isinstance(event, ev.ProjectEvent)
        events.append(event)
    return events


def test_an_approval_stored_as_version_1_reads_as_an_approval_with_its_meaning(
    ledger: Ledger,
) -> None:
    approval = _decode(ledger)[-1]

    assert isinstance(approval, ev.DeliverableApproved)
    assert approval.meaning == SignatureMeaning.APPROVAL
    assert approval.comment == "looks right"
    assert approval.actor == "carol"


def test_events_stored_before_version_2_replay_into_the_same_project(ledger: Ledger) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)

    assert isinstance(project, Project)
    assert project.version == len(STORED_BEFORE_V2)
    assert project.deliverable(DELIVERABLE).state is DeliverableState.APPROVED
    assert project.role_of("carol") is not None


def test_a_new_approval_is_stored_as_version_5_with_its_meaning_evidence_and_signers(
    ledger: Ledger,
) -> None:
    project: Project | None = None
    for event in _decode(ledger)[:-1]:
        project = event.mutate(project)
    assert isinstance(project, Project)

    project.approve(DELIVERABLE, meaning=SignatureMeaning.REVIEW, actor="carol")
    [approval] = project.collect_events()
    stored = ledger.mapper.to_stored_event(approval)

    state = json.loads(stored.state)
    assert state["class_version"] == 5
    assert state["meaning"] == "review"
    assert (state["signers"], state["required_approvals"]) == (["carol"], 1)
    assert state["evidence_digests"] == [
        {"criterion_id": str(CRITERION), "artifact": None, "sha256": None}
    ]
    assert ledger.mapper.to_domain_event(stored) == approval


# A re-baseline as the code before version 2 of ProjectRebaselined stored it (no `name`).
REBASELINED_V1 = (
    "domain.events:ProjectRebaselined",
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-04T23:47:42.000001+00:00"},'
    b'"actor":"alice","reason":"new plan","baselines":{},"previous_baselines":{}}',
)


def test_a_rebaseline_stored_as_version_1_reads_as_one_without_a_name(ledger: Ledger) -> None:
    stored = StoredEvent(
        originator_id=PROJECT,
        originator_version=len(STORED_BEFORE_V2) + 1,
        topic=REBASELINED_V1[0],
        state=REBASELINED_V1[1],
    )

    event = ledger.mapper.to_domain_event(stored)

    assert isinstance(event, ev.ProjectRebaselined)
    assert (event.name, event.reason, event.baselines) == (None, "new plan", {})
    project: Project | None = None
    for earlier in [*_decode(ledger), event]:
        project = earlier.mutate(project)
    assert isinstance(project, Project)
    assert project.baseline_versions == {}


def test_a_named_rebaseline_is_stored_as_version_2(ledger: Ledger) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)
    assert isinstance(project, Project)

    project.rebaseline("new plan", name="Q3 plan", actor="alice")
    [rebaselined] = project.collect_events()
    state = json.loads(ledger.mapper.to_stored_event(rebaselined).state)

    assert (state["class_version"], state["name"]) == (2, "Q3 plan")
    assert project.baseline_versions == {"Q3 plan": project.version}


def test_a_snapshot_of_a_project_at_version_1_loads_with_no_baseline_names_recorded(
    ledger: Ledger,
) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)
    assert isinstance(project, Project)
    snapshot = Project.Snapshot.take(project)
    # What the code before version 2 of Project snapshotted: no class version, no names.
    old_state = {
        k: v for k, v in snapshot.state.items() if k not in ("class_version", "baseline_versions")
    }
    old = Project.Snapshot(
        originator_id=snapshot.originator_id,
        originator_version=snapshot.originator_version,
        timestamp=snapshot.timestamp,
        topic=snapshot.topic,
        state=old_state,
    )

    loaded = old.mutate(None)

    assert isinstance(loaded, Project)
    assert loaded.baseline_versions == {}
    assert loaded.deliverable(DELIVERABLE).state is DeliverableState.APPROVED


# What the code before version 3 of DeliverableApproved stored (version 2: a meaning, no
# evidence digests), and EvidenceRecorded before version 2 (no artifact: the one above).
APPROVAL_STORED_AS_V2 = (
    "domain.events:DeliverableApproved",
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T03:24:43.418677+00:00"},'
    b'"actor":"carol","deliverable_id":{"_type_":"uuid_hex",'
    b'"_data_":"e2694296976c4f3196d751900314303c"},"comment":"pinned?","meaning":"approval",'
    b'"class_version":2}',
)


def test_an_approval_stored_as_version_2_reads_as_one_that_recorded_no_digests(
    ledger: Ledger,
) -> None:
    topic, state = APPROVAL_STORED_AS_V2
    stored = StoredEvent(
        originator_id=PROJECT, originator_version=len(STORED_BEFORE_V2), topic=topic, state=state
    )

    approval = ledger.mapper.to_domain_event(stored)

    assert isinstance(approval, ev.DeliverableApproved)
    assert approval.meaning == SignatureMeaning.APPROVAL
    assert approval.comment == "pinned?"
    assert approval.evidence_digests is None  # not recorded then; never "no evidence"


def test_evidence_stored_as_version_1_reads_as_evidence_naming_no_artifact(
    ledger: Ledger,
) -> None:
    [evidence] = [e for e in _decode(ledger) if isinstance(e, ev.EvidenceRecorded)]

    assert evidence.artifact is None
    assert evidence.evidence == "https://example.org/spec.pdf"


# What the code before version 4 of DeliverableApproved stored (version 3: a meaning and the
# evidence digests, no quorum and no signers: every approval was a round's only one).
APPROVAL_STORED_AS_V3 = (
    "domain.events:DeliverableApproved",
    b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-12-05T03:58:12.104211+00:00"},'
    b'"actor":"carol","deliverable_id":{"_type_":"uuid_hex",'
    b'"_data_":"e2694296976c4f3196d751900314303c"},"comment":null,"meaning":"review",'
    b'"evidence_digests":[{"criterion_id":"1c5f7ac9-6864-4e6f-aae8-1df091a62b14",'
    b'"artifact":null,"sha256":null}],"class_version":3}',
)


def test_an_approval_stored_as_version_3_reads_as_a_quorum_of_one_signed_by_its_actor(
    ledger: Ledger,
) -> None:
    topic, state = APPROVAL_STORED_AS_V3
    stored = StoredEvent(
        originator_id=PROJECT, originator_version=len(STORED_BEFORE_V2), topic=topic, state=state
    )

    approval = ledger.mapper.to_domain_event(stored)

    assert isinstance(approval, ev.DeliverableApproved)
    assert (approval.required_approvals, approval.signers) == (1, ["carol"])
    assert approval.meaning == SignatureMeaning.REVIEW
    assert approval.evidence_digests == [
        {"criterion_id": str(CRITERION), "artifact": None, "sha256": None}
    ]
    project: Project | None = None
    for event in [*_decode(ledger)[:-1], approval]:
        project = event.mutate(project)
    assert isinstance(project, Project)
    deliverable = project.deliverable(DELIVERABLE)
    assert deliverable.state is DeliverableState.APPROVED
    assert (deliverable.required_approvals, deliverable.approvals) == (1, ["carol"])


def test_events_stored_before_quorums_replay_into_quorum_one_with_the_approver_as_signer(
    ledger: Ledger,
) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)
    assert isinstance(project, Project)

    deliverable = project.deliverable(DELIVERABLE)

    assert (deliverable.required_approvals, deliverable.approvals) == (1, ["carol"])


def test_a_snapshot_taken_before_quorums_loads_with_quorum_one(ledger: Ledger) -> None:
    project: Project | None = None
    for event in _decode(ledger)[:-1]:
        project = event.mutate(project)
    assert isinstance(project, Project)
    snapshot = Project.Snapshot.take(project)
    state = json.loads(ledger.mapper.to_stored_event(snapshot).state)
    for deliverable in state["state"]["deliverables"].values():
        # What a snapshot of a deliverable held before quorums existed.
        del deliverable["_data_"]["required_approvals"], deliverable["_data_"]["approvals"]
    old = ledger.mapper.to_stored_event(snapshot)
    old = StoredEvent(
        originator_id=old.originator_id,
        originator_version=old.originator_version,
        topic=old.topic,
        state=json.dumps(state).encode(),
    )

    decoded = ledger.mapper.to_domain_event(old)
    assert isinstance(decoded, Project.Snapshot)
    loaded = decoded.mutate(None)

    assert isinstance(loaded, Project)
    deliverable = loaded.deliverable(DELIVERABLE)
    assert (deliverable.required_approvals, deliverable.approvals) == (1, [])
    loaded.approve(DELIVERABLE, actor="carol")
    assert loaded.deliverable(DELIVERABLE).state is DeliverableState.APPROVED


def test_a_snapshot_taken_before_gates_loads_its_phases_in_the_order_added_with_no_gate(
    ledger: Ledger,
) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)
    assert isinstance(project, Project)
    project.add_phase("Build", actor="alice")
    project.collect_events()
    snapshot = Project.Snapshot.take(project)
    state = json.loads(ledger.mapper.to_stored_event(snapshot).state)
    for phase in state["state"]["phases"].values():
        # What a snapshot of a phase held before gates existed: its id and name.
        del phase["_data_"]["position"], phase["_data_"]["exit_gate"], phase["_data_"]["decision"]
    for deliverable in state["state"]["deliverables"].values():
        del deliverable["_data_"]["submitters"]
    old = ledger.mapper.to_stored_event(snapshot)
    old = StoredEvent(
        originator_id=old.originator_id,
        originator_version=old.originator_version,
        topic=old.topic,
        state=json.dumps(state).encode(),
    )

    decoded = ledger.mapper.to_domain_event(old)
    assert isinstance(decoded, Project.Snapshot)
    loaded = decoded.mutate(None)

    assert isinstance(loaded, Project)
    assert [p.name for p in loaded.phases_in_order()] == ["Design", "Build"]
    assert not any(p.exit_gate or p.decision for p in loaded.phases.values())
    # The last submitter still counts (R25), from `submitted_by`.
    assert loaded.deliverable(DELIVERABLE).ever_submitted_by == {"bob"}
    loaded.add_phase("Test", actor="alice")
    assert [p.name for p in loaded.phases_in_order()] == ["Design", "Build", "Test"]


def test_a_snapshot_holds_a_gate_decision_and_its_conditions(ledger: Ledger) -> None:
    project: Project | None = None
    for event in _decode(ledger):
        project = event.mutate(project)
    assert isinstance(project, Project)
    [design] = project.phases.values()
    project.set_exit_gate(design.id, True, actor="alice")
    project.decide_gate(
        design.id, GateDecisionKind.CONDITIONAL, ["carol"], "review", ["fix it"], actor="alice"
    )
    project.collect_events()

    stored = ledger.mapper.to_stored_event(Project.Snapshot.take(project))
    decoded = ledger.mapper.to_domain_event(stored)
    assert isinstance(decoded, Project.Snapshot)
    loaded = decoded.mutate(None)

    assert isinstance(loaded, Project)
    decision = loaded.phase(design.id).decision
    assert decision is not None
    assert decision == project.phase(design.id).decision
    assert [c.text for c in decision.open_conditions] == ["fix it"]


def test_a_snapshot_of_evidence_that_names_an_artifact_is_written_and_loads(
    ledger: Ledger,
) -> None:
    """Found while merging: `ArtifactRef` had no transcoding, so a project holding evidence
    of an uploaded file could not be snapshotted (each 100th save logged a warning and its
    loads replayed ever more events)."""
    project = new_project()
    did = draft(project, met=False)
    criterion = next(iter(project.deliverable(did).criteria.values()))
    artifact = ArtifactRef("ab" * 32, 11, "text/plain", "minutes.txt")
    project.record_evidence(did, criterion.id, None, artifact=artifact, actor="bob")
    project.collect_events()

    stored = ledger.mapper.to_stored_event(Project.Snapshot.take(project))
    decoded = ledger.mapper.to_domain_event(stored)
    assert isinstance(decoded, Project.Snapshot)
    loaded = decoded.mutate(None)

    assert isinstance(loaded, Project)
    evidence = loaded.deliverable(did).criteria[str(criterion.id)].evidence
    assert evidence is not None
    assert evidence.artifact == artifact
