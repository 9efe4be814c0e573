"""Phase gates (R24, R25) through the API: the 409 that names the gate, decisions that unblock,
conditions closed one by one, the independent participant, a signed decision when the
deployment requires signatures, and what the project, its history and audit show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from icalendar import Calendar

from api.bootstrap import Container
from domain.entities import GateDecisionKind
from domain.gates import decision_digest, decision_document
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok

PASSWORD = "correct horse battery"


@contextmanager
def signatures_required(container: Container) -> Iterator[None]:
    """The deployment requires signatures (MILESTONES_SIGNATURES_REQUIRED=y) for a while."""
    before = container.settings
    container.settings = replace(before, signatures_required=True)
    try:
        yield
    finally:
        container.settings = before


@dataclass(frozen=True)
class Gated:
    """A project whose Design phase has an exit gate; Build's milestone waits only for it."""

    pid: str
    reviewer: str
    design: str
    build: str
    milestone: str

    @property
    def base(self) -> str:
        return f"/v1/projects/{self.pid}"

    @property
    def gate(self) -> str:
        return f"{self.base}/phases/{self.design}/gate"


def _approved(alice: User, carol: User, base: str, phase: str, title: str) -> str:
    """A deliverable of `phase` alice defined and submitted and carol approved."""
    did = ok(alice.post(f"{base}/deliverables", {"title": title, "phase_id": phase}))[
        "deliverable_id"
    ]
    cid = ok(alice.post(f"{base}/deliverables/{did}/criteria", {"text": "done"}))["criterion_id"]
    ok(
        alice.post(
            f"{base}/deliverables/{did}/criteria/{cid}/evidence",
            {"evidence": f"https://example.org/{title}"},
        )
    )
    ok(alice.post(f"{base}/deliverables/{did}/submit", {}))
    ok(carol.post(f"{base}/deliverables/{did}/approve", {}))
    return str(did)


def _gated(alice: User, carol: User) -> Gated:
    pid = ok(alice.post("/v1/projects", {"name": "Gated"}))["project_id"]
    base = f"/v1/projects/{pid}"
    ok(alice.post(f"{base}/members", {"principal": carol.name, "role": "reviewer"}))
    design = ok(alice.post(f"{base}/phases", {"name": "Design"}))["phase_id"]
    build = ok(alice.post(f"{base}/phases", {"name": "Build"}))["phase_id"]
    ok(alice.put(f"{base}/phases/{design}/gate", json={"required": True}))
    code = _approved(alice, carol, base, build, "Code")
    mid = ok(
        alice.post(
            f"{base}/milestones",
            {"name": "Built", "phase_id": build, "due": "2030-01-31", "deliverable_ids": [code]},
        )
    )["milestone_id"]
    return Gated(pid, carol.name, design, build, mid)


def _achieve(user: User, gated: Gated) -> Any:
    return user.post(f"{gated.base}/milestones/{gated.milestone}/achieve", {})


def _decide(user: User, gated: Gated, decision: str, **extra: Any) -> Any:
    body = {"decision": decision, "participants": [user.name, gated.reviewer], "reason": "review"}
    return user.post(f"{gated.gate}/decisions", {**body, **extra})


def _phase(user: User, gated: Gated, phase: str) -> dict[str, Any]:
    [found] = [p for p in ok(user.get(gated.base))["phases"] if p["id"] == phase]
    return dict(found)


def test_a_missing_gate_is_a_409_naming_the_gate_and_a_go_unblocks(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    version = ok(alice.get(gated.base))["version"]

    refused = _achieve(alice, gated)

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    [error] = refused.json()["errors"]
    assert error["rule"] == "R24"
    assert "'Design'" in error["message"]
    assert (error["phase_id"], error["phase"], error["gate"]) == (gated.design, "Design", "missing")
    assert ok(alice.get(gated.base))["version"] == version

    decided = _decide(alice, gated, "go")
    assert decided.status_code == 201, decided.text
    assert decided.json()["phase_id"] == gated.design
    assert ok(_achieve(alice, gated))["changed"] is True


def test_no_go_blocks_and_a_later_go_unblocks(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(_decide(alice, gated, "no_go"))

    refused = _achieve(alice, gated)

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["gate"] == "no_go"
    ok(_decide(alice, gated, "go"))
    ok(_achieve(alice, gated))


def test_hold_blocks(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(_decide(alice, gated, "hold"))

    refused = _achieve(alice, gated)

    assert refused.json()["errors"][0]["gate"] == "hold"


def test_conditional_blocks_until_its_last_condition_is_closed(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(_decide(alice, gated, "conditional", conditions=["risk log", "FMEA"]))
    decision = _phase(alice, gated, gated.design)["decision"]
    assert (decision["decision"], decision["open_conditions"]) == ("conditional", 2)
    first, last = (c["id"] for c in decision["conditions"])

    ok(alice.post(f"{gated.gate}/conditions/{first}/close", {"how": "risk log updated"}))
    assert _achieve(alice, gated).json()["errors"][0]["gate"] == "conditional_open"
    again = alice.post(f"{gated.gate}/conditions/{first}/close", {"how": "again"})
    assert again.status_code == 409

    closed = ok(alice.post(f"{gated.gate}/conditions/{last}/close", {"how": "FMEA signed"}))
    assert closed["condition_id"] == last
    phase = _phase(alice, gated, gated.design)
    assert (phase["gate"], phase["decision"]["open_conditions"]) == ("conditional", 0)
    [_, shown] = phase["decision"]["conditions"]
    assert (shown["open"], shown["closed_by"], shown["how"]) == (False, alice.name, "FMEA signed")
    ok(_achieve(alice, gated))


def test_a_decision_with_no_independent_participant_is_refused(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    spec = _approved(alice, carol, gated.base, gated.design, "Spec")
    assert spec
    version = ok(alice.get(gated.base))["version"]

    refused = alice.post(
        f"{gated.gate}/decisions",
        {"decision": "go", "participants": [alice.name], "reason": "I wrote it, I pass it"},
    )

    assert refused.status_code == 409
    assert refused.json()["errors"][0]["rule"] == "R25"
    assert "independent" in refused.json()["errors"][0]["message"]
    assert ok(alice.get(gated.base))["version"] == version


def test_bad_decisions_are_422_and_change_nothing(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    version = ok(alice.get(gated.base))["version"]

    unknown = _decide(alice, gated, "maybe")
    no_conditions = _decide(alice, gated, "conditional")
    with_conditions = _decide(alice, gated, "go", conditions=["x"])
    nobody = alice.post(f"{gated.gate}/decisions", {"decision": "go", "participants": []})

    assert [r.status_code for r in (unknown, no_conditions, with_conditions, nobody)] == [422] * 4
    assert all(r.headers["content-type"] == "application/problem+json" for r in (unknown, nobody))
    assert ok(alice.get(gated.base))["version"] == version


def test_only_a_manager_decides(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)

    assert _decide(carol, gated, "go").status_code == 403


def test_a_signed_decision_records_meaning_printed_name_and_digest(
    users: Users, container: Container
) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    container.signatures.set_password(alice.name, PASSWORD)
    container.signatures.set_display_name(alice.name, "Alice Anders")
    version = ok(alice.get(gated.base))["version"]

    with signatures_required(container):
        unsigned = _decide(alice, gated, "go")
        wrong = _decide(alice, gated, "go", password="not the password")
        assert [unsigned.status_code, wrong.status_code] == [401, 401]
        assert ok(alice.get(gated.base))["version"] == version
        ok(_decide(alice, gated, "go", meaning="responsibility", password=PASSWORD))

    events = ok(alice.get(f"{gated.base}/history"))["events"]
    [decided] = [e for e in events if e["type"] == "GateDecided"]
    data = decided["data"]
    assert (data["meaning"], data["signer_name"]) == ("responsibility", "Alice Anders")
    assert data["independent"] == [alice.name, carol.name]  # Design has no deliverable
    assert "password" not in data
    document = decision_document(
        UUID(gated.design), GateDecisionKind.GO, [], [alice.name, carol.name], "review"
    )
    assert data["signed_digest"] == decision_digest(document)
    shown = _phase(alice, gated, gated.design)["decision"]
    assert (shown["signer_name"], shown["signed_digest"]) == ("Alice Anders", data["signed_digest"])


def test_phases_show_their_order_and_gate_now_and_as_of(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    before = ok(alice.get(gated.base))
    ok(alice.put(f"{gated.base}/phase-order", json={"phase_ids": [gated.build, gated.design]}))
    ok(_decide(alice, gated, "hold"))

    now = ok(alice.get(gated.base))["phases"]
    past = ok(alice.get(gated.base, params={"as_of": before["updated_at"]}))["phases"]

    assert [(p["name"], p["position"], p["gate"]) for p in now] == [
        ("Build", 0, "none"),
        ("Design", 1, "hold"),
    ]
    assert [(p["name"], p["position"], p["gate"]) for p in past] == [
        ("Design", 0, "missing"),
        ("Build", 1, "none"),
    ]
    # Build now comes first: Design's gate holds nothing of it back.
    ok(_achieve(alice, gated))
    bad = alice.put(f"{gated.base}/phase-order", json={"phase_ids": [gated.build]})
    assert bad.status_code == 422


def test_the_audit_trail_and_history_tell_each_decision_and_closing(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(_decide(alice, gated, "conditional", conditions=["risk log"]))
    [condition] = _phase(alice, gated, gated.design)["decision"]["conditions"]
    closed = ok(alice.post(f"{gated.gate}/conditions/{condition['id']}/close", {"how": "done"}))

    rows = ok(
        alice.get(
            "/v1/audit",
            params={"entity_id": gated.design, "min_position": closed["position"]},
        )
    )["items"]
    history = ok(alice.get(f"{gated.base}/history"))["events"]

    summaries = {r["type"]: r["summary"] for r in rows}
    assert summaries["PhaseExitGateSet"] == f"{alice.name} gave phase 'Design' an exit gate"
    assert summaries["GateDecided"] == (
        f"{alice.name} ({alice.name}, approval) decided conditional at the exit gate of phase "
        f"'Design', 1 condition; participants {alice.name}, {carol.name} "
        f"(independent: {alice.name}, {carol.name}): review"
    )
    assert summaries["GateConditionClosed"] == (
        f"{alice.name} closed a condition of the exit gate of phase 'Design': done"
    )
    assert {r["entity_kind"] for r in rows if r["type"].startswith("Gate")} == {"phase"}
    [closing] = [e for e in history if e["type"] == "GateConditionClosed"]
    assert (closing["actor"], closing["data"]["how"]) == (alice.name, "done")
    assert closing["data"]["condition_id"] == condition["id"]
    assert closing["occurred_at"]


def test_the_calendar_and_retrospective_show_the_gate_decision(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(_decide(alice, gated, "conditional", conditions=["risk log"]))

    ics = alice.get(f"{gated.base}/calendar.ics")
    retro = ok(alice.get(f"{gated.base}/retrospective"))

    assert ics.status_code == 200
    calendar = Calendar.from_ical(ics.content)
    [gate] = [e for e in calendar.walk("VEVENT") if str(e["uid"]).startswith("gate-")]
    assert str(gate["summary"]) == "Gate Design: conditional_open"
    assert f"signed by {alice.name} (approval)" in str(gate["description"])
    [phase] = retro["gates"]
    assert phase["name"] == "Design"
    [decision] = phase["decisions"]
    assert (decision["decision"], decision["conditions"]) == ("conditional", ["risk log"])
    assert decision["days_from_last_milestone"] is None  # Design has no milestone achieved


def test_the_schedule_lists_the_phases_in_their_order_after_a_reorder(users: Users) -> None:
    alice, carol = users("alice"), users("carol")
    gated = _gated(alice, carol)
    ok(alice.put(f"{gated.base}/phase-order", json={"phase_ids": [gated.build, gated.design]}))
    last = ok(alice.post(f"{gated.base}/phases", {"name": "Run"}))

    schedule = ok(alice.get(f"{gated.base}/schedule", params={"min_position": last["position"]}))

    assert [p["name"] for p in schedule["phases"]] == ["Build", "Design", "Run"]
    assert [p["name"] for p in ok(alice.get(gated.base))["phases"]] == ["Build", "Design", "Run"]
