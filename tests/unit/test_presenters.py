"""`project_json` answers exactly the bytes the `ProjectPublic` model would: same fields, order,
escaping and formats, on a project rich in every kind of state, fresh or rebuilt from the store
(snapshot and tail, as `?as_of=` reads it)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from uuid import UUID

import pytest
from pydantic_core import to_json

from api.presenters import _timestamp, project_json, project_public
from api.schemas import iso_utc
from application.ledger import Ledger
from domain.entities import DeliverableKind, GateDecisionKind
from domain.project import Project
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, CAROL, recorded_before_r15

# Texts the JSON writer must escape, or must pass through untouched.
AWKWARD = (
    'quote " backslash \\ tab \t newline \n bell \x07 del \x7f é 漢字 \u2028 \U0001f680 </script>'
)
NOW = datetime(2026, 11, 26, 9, 30, 0, 123456, tzinfo=UTC)


def old_answer(project: Project, now: datetime, as_of: datetime | None = None) -> bytes:
    """What the route answered before `project_json`: the model, serialised by pydantic."""
    return project_public(project, now, as_of=as_of).model_dump_json().encode()


def rich_project(cycles: int = 12, seed: int = 3) -> Project:
    """Every state a deliverable and a milestone can be in, awkward texts, several members;
    the names hold controls R15 now refuses, as events stored before it may."""
    with recorded_before_r15():
        return _rich_project(cycles, seed)


def _rich_project(cycles: int, seed: int) -> Project:
    rng = random.Random(seed)
    project = Project.create(
        name=f"Apollo {AWKWARD}"[:200],
        description=AWKWARD,
        timezone="Pacific/Chatham",
        risk_window_days=30,
        actor=ALICE,
    )
    project.set_member(BOB, ProjectRole.CONTRIBUTOR, actor=ALICE)
    project.set_member(CAROL, ProjectRole.REVIEWER, actor=ALICE)
    project.set_member("Zoë ✓", ProjectRole.VIEWER, actor=ALICE)
    project.set_group("QA ✓", [CAROL, "Zoë ✓"], actor=ALICE)  # R26
    phases = [project.add_phase(name, actor=ALICE) for name in ("Design", AWKWARD[:50], "Run")]
    kinds = list(DeliverableKind)
    for n in range(cycles):
        phase = phases[n % len(phases)]
        did = project.define_deliverable(
            title=f"Deliverable {n} {AWKWARD[: n * 7]}"[:200],
            phase_id=phase,
            kind=kinds[n % len(kinds)],
            description=AWKWARD * (n % 3),
            owner=None if n % 2 else f"owner {n}",
            actor=BOB,
        )
        criteria = [project.add_criterion(did, f"criterion {i} ✓", actor=BOB) for i in range(3)]
        # Some criteria stay unmet, some have a sha256, some evidence is replaced.
        for i, cid in enumerate(criteria[: 1 + n % 3]):
            digest = f"{n:02x}{i:02x}".ljust(64, "a") if (n + i) % 2 else None
            project.record_evidence(
                did, cid, f"https://example.org/{n}/{i} {AWKWARD}", digest, actor=BOB
            )
        stage = n % 6
        if stage == 0:
            continue  # a draft, criteria partly met
        for cid in criteria[1 + n % 3 :]:
            project.record_evidence(did, cid, f"evidence {n}", actor=BOB)
        if stage == 1:  # cancelled while an open milestone links it
            project.define_milestone(
                name=f"Proven by a cancelled one {n}",
                phase_id=phase,
                due=date(2026, 12, 1),
                deliverable_ids=[did],
                actor=ALICE,
            )
            project.cancel_deliverable(did, "not needed", actor=ALICE)
            continue
        project.submit(did, actor=BOB)
        if stage == 2:
            continue  # in review
        if stage >= 3:
            project.reject(did, "thin", actor=CAROL)
            project.record_evidence(did, criteria[0], "v2", actor=BOB)
            project.submit(did, actor=BOB)
            project.approve(did, actor=CAROL)
        due = date(2026, 11, 1) + timedelta(days=rng.randrange(-40, 90))
        mid = project.define_milestone(
            name=f"Milestone {n} {AWKWARD[:20]}",
            phase_id=phase,
            due=due,
            deliverable_ids=[did],
            actor=ALICE,
        )
        if stage == 4:
            project.reschedule(mid, due + timedelta(days=9), "late supplier", actor=ALICE)
            project.achieve(mid, actor=ALICE)
        elif stage == 5 and n % 4:
            project.cancel_milestone(mid, "dropped", actor=ALICE)
    # A milestone proven by several deliverables, in different states.
    ids = [d.id for d in project.deliverables.values() if not d.cancelled][:4]
    project.define_milestone(
        name="Many", phase_id=phases[0], due=date(2026, 11, 30), deliverable_ids=ids, actor=ALICE
    )
    # Phase gates (R24, R25): reordered, one conditional decision with a condition closed,
    # one gate with no decision yet.
    project.reorder_phases([phases[2], phases[0], phases[1]], actor=ALICE)
    project.set_exit_gate(phases[0], True, actor=ALICE)
    project.set_exit_gate(phases[1], True, actor=ALICE)
    project.decide_gate(
        phases[0],
        GateDecisionKind.CONDITIONAL,
        [CAROL, BOB],
        f"reviewed {AWKWARD}",
        [f"condition {AWKWARD}", "second"],
        signer_name=f"Alice {AWKWARD}"[:50],
        actor=ALICE,
    )
    decision = project.phase(phases[0]).decision
    assert decision is not None
    first = next(iter(decision.conditions.values()))
    project.close_gate_condition(phases[0], first.id, AWKWARD, actor=CAROL)
    return project


INSTANTS = [
    None,
    NOW,
    NOW.replace(microsecond=0),  # a whole second: the model still writes ".000000"
    NOW.astimezone(timezone(timedelta(hours=-11))),
    datetime(2025, 1, 1, tzinfo=UTC),  # before every due date: health as it was then
    datetime(1, 1, 2, tzinfo=UTC),  # the earliest instant `as_of` accepts
    datetime(999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))),
]


@pytest.mark.parametrize("as_of", INSTANTS, ids=str)
def test_the_answer_is_the_models_json_byte_for_byte(as_of: datetime | None) -> None:
    project = rich_project()
    project.collect_events()

    assert project_json(project, NOW, as_of=as_of) == old_answer(project, NOW, as_of)


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    app = Ledger(env={"PERSISTENCE_MODULE": "adapters.memory:MemoryFactory"})
    yield app
    app.close()


def test_a_project_rebuilt_from_snapshot_and_tail_answers_like_the_model(ledger: Ledger) -> None:
    project = rich_project(cycles=30)
    assert project.version > 2 * 100  # past two snapshots (one every 100 events)
    ledger.save(project)
    versions = [project.version, 250, 200, 101, 7]
    for version in versions:
        rebuilt: Project = ledger.repository.get(project.id, version=version)
        for as_of in (None, NOW):
            assert project_json(rebuilt, NOW, as_of=as_of) == old_answer(rebuilt, NOW, as_of)


def test_the_answer_is_the_documented_shape() -> None:
    project = rich_project()
    answer = json.loads(project_json(project, NOW, as_of=NOW))

    assert list(answer) == [
        "id",
        "name",
        "description",
        "timezone",
        "risk_window_days",
        "version",
        "created_at",
        "updated_at",
        "as_of",
        "members",
        "phases",
        "deliverables",
        "milestones",
        "groups",
    ]
    assert UUID(answer["id"]) == project.id
    assert answer["as_of"] == "2026-11-26T09:30:00.123456Z"
    states = {d["state"] for d in answer["deliverables"]}
    assert states == {"draft", "in_review", "approved", "cancelled"}
    assert {m["status"] for m in answer["milestones"]} == {"not_achieved", "achieved", "cancelled"}
    assert any(
        c["evidence"] and c["evidence"]["sha256"]
        for d in answer["deliverables"]
        for c in d["criteria"]
    )


@pytest.mark.parametrize(
    "value",
    [
        NOW,
        NOW.replace(microsecond=0),
        NOW.astimezone(timezone(timedelta(hours=5, minutes=45))),
        datetime(1, 1, 2, tzinfo=UTC),
        datetime(999, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-1))),
        datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC),
    ],
    ids=str,
)
def test_iso_utc_writes_what_strftime_wrote(value: datetime) -> None:
    assert iso_utc(value) == value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_timestamps_are_written_as_iso_utc_writes_them() -> None:
    rng = random.Random(5)
    zones = [UTC, timezone(timedelta(0)), timezone(timedelta(hours=13, minutes=45)), None]
    for _ in range(5000):
        value = datetime(1, 1, 2) + timedelta(
            seconds=rng.randrange(315_000_000_000),
            microseconds=rng.choice([0, 1, 10, 100_000, 999_999, rng.randrange(10**6)]),
        )
        value = value.replace(tzinfo=rng.choice(zones))
        assert to_json(_timestamp(value)) == to_json(iso_utc(value)), value
