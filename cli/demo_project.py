"""The demo project of `milestones demo`: milestones in every health state, and a token each."""

from __future__ import annotations

from contextlib import suppress
from datetime import date, datetime, timedelta
from typing import TextIO
from uuid import UUID

from adapters.postgres.principals import PrincipalExistsError
from api.bootstrap import Container
from application.access import GlobalRole, Principal
from domain.entities import DeliverableKind
from domain.events import events_dated_by
from domain.roles import ProjectRole
from domain.rules import today_in
from projections.projects.queries import list_projects

PROJECT_NAME = "Customer Portal Relaunch"
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


class StoryClock:
    """The demo's clock: the story unfolds over the weeks before `now`, so the as-of slider shows
    a project moving. `day(n)` moves to 09:00 UTC n days ago; each event is a minute after the
    one before; it never goes backwards, nor past `now`."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.moment = now - timedelta(days=STORY_DAYS + 1)

    def day(self, days_ago: int, hour: int = 9) -> None:
        start = (self.now - timedelta(days=days_ago)).replace(
            hour=hour, minute=0, second=0, microsecond=0
        )
        self.moment = max(self.moment, min(start, self.now))

    def __call__(self) -> datetime:
        self.moment = min(self.moment + timedelta(minutes=1), self.now)
        return self.moment


# How many days before today the story starts.
STORY_DAYS = 56


def find_demo(container: Container) -> UUID | None:
    """The demo project an earlier `milestones demo` loaded into this database, if any."""
    with container.pool.connection() as conn:
        projects = list_projects(conn, "alice", False)
    return next(
        (p["id"] for p in projects if p["name"] == PROJECT_NAME and p["role"] == "manager"),
        None,
    )


def make_tokens(container: Container) -> dict[str, str]:
    """The demo's people (made once) and a new token each."""
    for name, (global_role, _, _) in PEOPLE.items():
        with suppress(PrincipalExistsError):  # a second demo reuses the principals
            container.principals.add(name, global_role)
    return {name: container.principals.create_token(name) for name in PEOPLE}


def print_access(out: TextIO, pid: UUID, tokens: dict[str, str], base_url: str) -> None:
    """`export` lines for the README's walk-throughs, and three requests to start with."""
    out.write(
        "\nPaste these into your shell (the README's walk-throughs use them):\n"
        f"export U={base_url}/v1   # change it if `milestones serve` runs elsewhere\n"
        f"export P={pid}\n"
    )
    for name, token in tokens.items():
        out.write(f"export {name.upper()}={token}   # {name}, {PEOPLE[name][2]}\n")
    auth = '-H "Authorization: Bearer $ALICE"'
    out.write(
        "\nExplore it:\n"
        f"  curl -s {auth} $U/projects\n"
        f"  curl -s {auth} $U/projects/$P/schedule\n"
        f"  curl -s {auth} $U/projects/$P/alignment\n"
    )


def load_demo(container: Container, *, base_url: str, out: TextIO) -> UUID:
    """Load the demo project (another copy when one exists) and print how to reach it."""
    tokens = make_tokens(container)
    now = container.clock()
    story = StoryClock(now)
    with events_dated_by(story):
        pid = _tell_the_story(container, story, today_in(TIMEZONE, now))
    out.write(
        f"Demo project: {PROJECT_NAME} ({pid}), its story spread over the last "
        f"{STORY_DAYS // 7} weeks.\n"
    )
    print_access(out, pid, tokens, base_url)
    return pid


def _tell_the_story(container: Container, story: StoryClock, today: date) -> UUID:
    ledger = container.ledger
    story.day(STORY_DAYS)
    created = ledger.create_project(
        Principal("alice"),
        name=PROJECT_NAME,
        description="Replace the 2014 customer portal with a self-service web app.",
        timezone=TIMEZONE,
    )
    pid = created.project_id
    alice = ledger.admit(pid, Principal("alice"))

    for name, (_, role, _) in PEOPLE.items():
        if role is not None and name != "alice":
            ledger.set_member(alice, name, role)
    phases = {
        phase: ledger.add_phase(alice, phase).ids["phase_id"]
        for phase in ("Discovery", "Design", "Build", "Rollout")
    }
    bob, carol = ledger.admit(pid, Principal("bob")), ledger.admit(pid, Principal("carol"))

    story.day(STORY_DAYS - 1)
    ids: dict[str, UUID] = {}
    criteria: dict[str, list[UUID]] = {}
    for title, kind, phase, texts in DELIVERABLES:
        did = ledger.define_deliverable(carol, title, phases[phase], kind, owner="carol")
        ids[title] = did.ids["deliverable_id"]
        criteria[title] = [
            ledger.add_criterion(carol, ids[title], text).ids["criterion_id"]
            for text in texts or []
        ]

    def milestone(name: str, phase: str, days: int, *titles: str) -> UUID:
        due = today + timedelta(days=days)
        linked = [ids[t] for t in titles]
        return ledger.define_milestone(alice, name, phases[phase], due, linked).ids["milestone_id"]

    story.day(STORY_DAYS - 2)
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

    def evidence_and_submit(title: str) -> None:
        slug = title.lower().replace(" ", "-")
        for n, cid in enumerate(criteria[title], start=1):
            evidence = f"https://docs.example.com/{slug}#c{n}"
            ledger.record_evidence(carol, ids[title], cid, evidence)
        ledger.submit_deliverable(carol, ids[title], note="ready for review")

    # The prototype needed a second review round, and the design sign-off moved with it.
    story.day(40)
    evidence_and_submit("UI prototype")
    story.day(38, hour=14)
    reason = "Usability test had only 3 users; the criterion says 5"
    ledger.reject_deliverable(bob, ids["UI prototype"], reason)
    story.day(37)
    rework = "Prototype rework after the first usability test"
    ledger.reschedule_milestone(alice, design, today - timedelta(days=3), rework)
    for days_ago, title in (
        (30, "Stakeholder interview report"),
        (24, "Requirements specification"),
        (18, "Architecture decision record"),
        (12, "UI prototype"),
    ):
        story.day(days_ago)
        evidence_and_submit(title)
        story.day(days_ago - 1, hour=11)
        ledger.approve_deliverable(bob, ids[title])
    story.day(6)
    ledger.achieve_milestone(alice, requirements, note="Signed in steering meeting")
    story.day(4)
    evidence_and_submit("Analysis report draft")
    story.day(2)
    ledger.achieve_milestone(alice, design)
    story.day(1)
    archive = "Legacy system is kept read-only for archive access"
    ledger.cancel_milestone(alice, shutdown, archive)
    superseded = "Superseded by the archive decision"
    ledger.cancel_deliverable(alice, ids["Legacy decommission plan"], superseded)
    return pid
