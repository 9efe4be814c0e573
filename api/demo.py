"""`milestones demo`: a realistic project with milestones in every health state, and tokens."""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import TextIO
from uuid import UUID

from api.bootstrap import Container
from api.principals import GlobalRole, PrincipalExistsError
from domain.entities import DeliverableKind
from domain.project import Project
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
        name="Customer Portal Relaunch",
        description="Replace the 2014 customer portal with a self-service web app.",
        timezone=TIMEZONE,
        actor="alice",
    )
    pid = created.project_id
    today = today_in(TIMEZONE, container.clock())

    def as_(actor: str, needs: ProjectRole, act: object) -> dict[str, UUID]:
        result = ledger.execute(pid, act, actor=actor, needs=needs)  # type: ignore[arg-type]
        return result.ids

    def setup(p: Project) -> None:
        for name, (_, role, _) in PEOPLE.items():
            if role is not None and name != "alice":
                p.set_member(name, role, actor="alice")
        for phase in ("Discovery", "Design", "Build", "Rollout"):
            p.add_phase(phase, actor="alice")

    as_("alice", ProjectRole.MANAGER, setup)
    project = ledger.get_project(pid, reader="alice")
    phases = {p.name: p.id for p in project.phases.values()}

    ids: dict[str, UUID] = {}
    criteria: dict[str, list[UUID]] = {}

    def define(p: Project) -> None:
        for title, kind, phase, texts in DELIVERABLES:
            did = p.define_deliverable(
                title=title, phase_id=phases[phase], kind=kind, owner="carol", actor="carol"
            )
            ids[title] = did
            criteria[title] = [p.add_criterion(did, t, actor="carol") for t in texts or []]

    as_("carol", ProjectRole.CONTRIBUTOR, define)

    def evidence_and_submit(p: Project, title: str) -> None:
        for n, cid in enumerate(criteria[title], start=1):
            slug = title.lower().replace(" ", "-")
            p.record_evidence(
                ids[title], cid, f"https://docs.example.com/{slug}#c{n}", actor="carol"
            )
        p.submit(ids[title], note="ready for review", actor="carol")

    def approved(*titles: str) -> None:
        for title in titles:
            as_("carol", ProjectRole.CONTRIBUTOR, lambda p, t=title: evidence_and_submit(p, t))
            as_("bob", ProjectRole.REVIEWER, lambda p, t=title: p.approve(ids[t], actor="bob"))

    # The prototype needed a second review round.
    as_("carol", ProjectRole.CONTRIBUTOR, lambda p: evidence_and_submit(p, "UI prototype"))
    as_(
        "bob",
        ProjectRole.REVIEWER,
        lambda p: p.reject(
            ids["UI prototype"],
            "Usability test had only 3 users; the criterion says 5",
            actor="bob",
        ),
    )
    approved(
        "Stakeholder interview report",
        "Requirements specification",
        "Architecture decision record",
        "UI prototype",
    )
    as_("carol", ProjectRole.CONTRIBUTOR, lambda p: evidence_and_submit(p, "Analysis report draft"))

    def milestones(p: Project) -> None:
        def m(name: str, phase: str, days: int, *titles: str) -> UUID:
            return p.define_milestone(
                name=name,
                phase_id=phases[phase],
                due=today + timedelta(days=days),
                deliverable_ids=[ids[t] for t in titles],
                actor="alice",
            )

        ids["Requirements approved"] = m(
            "Requirements approved",
            "Discovery",
            2,
            "Stakeholder interview report",
            "Requirements specification",
        )
        ids["Design signed off"] = m(
            "Design signed off", "Design", -10, "Architecture decision record", "UI prototype"
        )
        p.reschedule(
            ids["Design signed off"],
            today - timedelta(days=3),
            "Prototype rework after the first usability test",
            actor="alice",
        )
        m("Draft analysis submitted", "Design", -2, "Analysis report draft")
        m("Payment module ready", "Build", 5, "Payment module")
        m(
            "Migration rehearsal complete",
            "Build",
            30,
            "Customer data migration",
            "Integration test report",
        )
        m("Steering committee review", "Build", 14)
        m("Go-live", "Rollout", 60, "User manual", "Go-live runbook")
        ids["Legacy shutdown"] = m("Legacy shutdown", "Rollout", 90, "Legacy decommission plan")
        p.achieve(ids["Requirements approved"], note="Signed in steering meeting", actor="alice")
        p.achieve(ids["Design signed off"], actor="alice")
        p.cancel_milestone(
            ids["Legacy shutdown"],
            "Legacy system is kept read-only for archive access",
            actor="alice",
        )
        p.cancel_deliverable(
            ids["Legacy decommission plan"], "Superseded by the archive decision", actor="alice"
        )

    as_("alice", ProjectRole.MANAGER, milestones)

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
