"""The demo project of `milestones demo`: milestones in every health state, and a token each."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import TextIO
from uuid import UUID

from adapters.postgres.principals import PrincipalExistsError
from api.bootstrap import Container
from application.access import GlobalRole, Principal
from domain.entities import DeliverableKind
from domain.roles import ProjectRole
from domain.rules import today_in

TIMEZONE = "Europe/Berlin"
PEOPLE = {
    "alice": (GlobalRole.MEMBER, ProjectRole.MANAGER, "project manager"),
    "bob": (GlobalRole.MEMBER, ProjectRole.REVIEWER, "reviewer"),
    "carol": (GlobalRole.MEMBER, ProjectRole.CONTRIBUTOR, "contributor"),
    "dave": (GlobalRole.AUDITOR, None, "auditor"),
}

# title, kind, phase, criteria (None: none defined yet)
DELIVERABLES: list[tuple[str, DeliverableKind, str, list[str] | None]] = [
    (
        "Stakeholder interview report",
        DeliverableKind.REPORT,
        "Discovery",
        ["Covers every business unit", "Lists open questions"],
    ),
    (
        "Requirements specification",
        DeliverableKind.DOCUMENT,
        "Discovery",
        ["Functional requirements numbered", "Signed off by product owner"],
    ),
    (
        "Architecture decision record",
        DeliverableKind.DOCUMENT,
        "Design",
        ["Alternatives compared", "Security review attached"],
    ),
    (
        "UI prototype",
        DeliverableKind.SOFTWARE,
        "Design",
        ["Clickable main flows", "Usability test with 5 users"],
    ),
    (
        "Analysis report draft",
        DeliverableKind.REPORT,
        "Design",
        ["Includes introduction", "Includes methodology", "Includes preliminary findings"],
    ),
    (
        "Payment module",
        DeliverableKind.SOFTWARE,
        "Build",
        ["PCI checklist complete", "Load test at 200 payments/s"],
    ),
    (
        "Customer data migration",
        DeliverableKind.SOFTWARE,
        "Build",
        ["Dry run on full copy", "Reconciliation report"],
    ),
    ("Integration test report", DeliverableKind.REPORT, "Build", ["All interfaces covered"]),
    ("User manual", DeliverableKind.MANUAL, "Rollout", ["Reviewed by support team"]),
    ("Training materials", DeliverableKind.DOCUMENT, "Rollout", ["Slides and exercises"]),
    ("Go-live runbook", DeliverableKind.DOCUMENT, "Rollout", None),
    ("Legacy decommission plan", DeliverableKind.OTHER, "Rollout", ["Data retention agreed"]),
]


def load_demo(container: Container, *, base_url: str, out: TextIO) -> UUID:
    ledger = container.ledger
    for name, (global_role, _, _) in PEOPLE.items():
        with suppress(PrincipalExistsError):  # a second demo reuses the principals
            container.principals.add(name, global_role)
    tokens = {name: container.principals.create_token(name) for name in PEOPLE}

    created = ledger.create_project(
        Principal("alice"),
        name="Customer Portal Relaunch",
        description="Replace the 2014 customer portal with a self-service web app.",
        timezone=TIMEZONE,
    )
    pid = created.project_id
    today = today_in(TIMEZONE, container.clock())
    alice = ledger.admit(pid, Principal("alice"))

    for name, (_, role, _) in PEOPLE.items():
        if role is not None and name != "alice":
            ledger.set_member(alice, name, role)
    phases = {
        phase: ledger.add_phase(alice, phase).ids["phase_id"]
        for phase in ("Discovery", "Design", "Build", "Rollout")
    }
    bob, carol = ledger.admit(pid, Principal("bob")), ledger.admit(pid, Principal("carol"))

    ids: dict[str, UUID] = {}
    criteria: dict[str, list[UUID]] = {}
    for title, kind, phase, texts in DELIVERABLES:
        did = ledger.define_deliverable(carol, title, phases[phase], kind, owner="carol")
        ids[title] = did.ids["deliverable_id"]
        criteria[title] = [
            ledger.add_criterion(carol, ids[title], text).ids["criterion_id"]
            for text in texts or []
        ]

    def evidence_and_submit(title: str) -> None:
        slug = title.lower().replace(" ", "-")
        for n, cid in enumerate(criteria[title], start=1):
            evidence = f"https://docs.example.com/{slug}#c{n}"
            ledger.record_evidence(carol, ids[title], cid, evidence)
        ledger.submit_deliverable(carol, ids[title], note="ready for review")

    # The prototype needed a second review round.
    evidence_and_submit("UI prototype")
    reason = "Usability test had only 3 users; the criterion says 5"
    ledger.reject_deliverable(bob, ids["UI prototype"], reason)
    for title in (
        "Stakeholder interview report",
        "Requirements specification",
        "Architecture decision record",
        "UI prototype",
    ):
        evidence_and_submit(title)
        ledger.approve_deliverable(bob, ids[title])
    evidence_and_submit("Analysis report draft")

    def milestone(name: str, phase: str, days: int, *titles: str) -> UUID:
        due = today + timedelta(days=days)
        linked = [ids[t] for t in titles]
        return ledger.define_milestone(alice, name, phases[phase], due, linked).ids["milestone_id"]

    requirements = milestone(
        "Requirements approved",
        "Discovery",
        2,
        "Stakeholder interview report",
        "Requirements specification",
    )
    design = milestone(
        "Design signed off", "Design", -10, "Architecture decision record", "UI prototype"
    )
    rework = "Prototype rework after the first usability test"
    ledger.reschedule_milestone(alice, design, today - timedelta(days=3), rework)
    milestone("Draft analysis submitted", "Design", -2, "Analysis report draft")
    milestone("Payment module ready", "Build", 5, "Payment module")
    milestone(
        "Migration rehearsal complete",
        "Build",
        30,
        "Customer data migration",
        "Integration test report",
    )
    milestone("Steering committee review", "Build", 14)
    milestone("Go-live", "Rollout", 60, "User manual", "Go-live runbook")
    shutdown = milestone("Legacy shutdown", "Rollout", 90, "Legacy decommission plan")
    ledger.achieve_milestone(alice, requirements, note="Signed in steering meeting")
    ledger.achieve_milestone(alice, design)
    archive = "Legacy system is kept read-only for archive access"
    ledger.cancel_milestone(alice, shutdown, archive)
    superseded = "Superseded by the archive decision"
    ledger.cancel_deliverable(alice, ids["Legacy decommission plan"], superseded)

    out.write(f"Demo project: Customer Portal Relaunch ({pid})\n\nTokens:\n")
    for name, token in tokens.items():
        out.write(f"  {name:<6} {PEOPLE[name][2]:<16} {token}\n")
    auth = f'-H "Authorization: Bearer {tokens["alice"]}"'
    out.write(
        "\nExplore it:\n"
        f"  curl -s {auth} {base_url}/v1/projects\n"
        f"  curl -s {auth} {base_url}/v1/projects/{pid}/schedule\n"
        f"  curl -s {auth} {base_url}/v1/projects/{pid}/alignment\n"
    )
    return pid
