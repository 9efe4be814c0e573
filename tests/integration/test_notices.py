"""R20 notices: raised once per milestone and due date from the project's today, re-armed by a
reschedule, never stored as the project's events, and sent on the event stream."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx

from api.bootstrap import Container
from api.webhooks.noticer import Noticer
from application.access import GlobalRole
from tests.integration.conftest import SettableClock, User, Users
from tests.integration.test_feed import Live, live  # noqa: F401 - the fixture

DAY = timedelta(days=1)


def _noticer(container: Container, clock: SettableClock) -> Noticer:
    return Noticer(container.ledger, container.pool, container.webhook_store, clock, 0)


def _at_risk_milestone(manager: User, due: date) -> tuple[str, str, int]:
    """A project with a milestone due on `due` whose deliverable is a draft (R3 refuses)."""
    pid = manager.post("/v1/projects", {"name": "Notices", "risk_window_days": 7}).json()[
        "project_id"
    ]
    base = f"/v1/projects/{pid}"
    phase = manager.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    did = manager.post(f"{base}/deliverables", {"title": "Plan", "phase_id": phase}).json()[
        "deliverable_id"
    ]
    answer = manager.post(
        f"{base}/milestones",
        {"name": "Ready", "phase_id": phase, "due": due.isoformat(), "deliverable_ids": [did]},
    ).json()
    return pid, answer["milestone_id"], answer["position"]


def _mine(container: Container, after: int, milestone_id: str) -> list[tuple[str, date]]:
    return [
        (r.notice.kind, r.notice.due)
        for r in container.webhook_store.notices_after(after, 1000)
        if str(r.notice.milestone_id) == milestone_id
    ]


def test_a_due_soon_notice_is_raised_once_per_due_date_and_rearmed_by_a_reschedule(
    container: Container, users: Users, clock: SettableClock
) -> None:
    manager = users("manager")
    due = date.today() + timedelta(days=3)
    pid, mid, position = _at_risk_milestone(manager, due)
    assert container.runner.wait_for(position, 10)
    before = container.webhook_store.last_notice_id()
    noticer = _noticer(container, clock)

    noticer.raise_now()
    noticer.raise_now()
    first = _mine(container, before, mid)
    moved = manager.post(
        f"/v1/projects/{pid}/milestones/{mid}/reschedule",
        {"due": (due + DAY).isoformat(), "reason": "vendor late"},
    ).json()
    assert container.runner.wait_for(moved["position"], 10)
    noticer.raise_now()

    assert first == [("MilestoneDueSoon", due)]
    assert _mine(container, before, mid) == [
        ("MilestoneDueSoon", due),
        ("MilestoneDueSoon", due + DAY),
    ]


def test_an_overdue_notice_follows_the_project_today_and_is_not_an_event(
    container: Container, users: Users, clock: SettableClock
) -> None:
    manager = users("manager")
    due = date.today() + timedelta(days=30)
    pid, mid, position = _at_risk_milestone(manager, due)
    assert container.runner.wait_for(position, 10)
    before = container.webhook_store.last_notice_id()
    version = manager.get(f"/v1/projects/{pid}").json()["version"]
    noticer = _noticer(container, clock)

    noticer.raise_now()  # today: a month before the due date, nothing
    nothing = _mine(container, before, mid)
    clock.pinned = datetime.combine(due + DAY, datetime.min.time(), UTC) + timedelta(hours=12)
    try:
        noticer.raise_now()
    finally:
        clock.pinned = None

    assert nothing == []
    assert _mine(container, before, mid) == [("MilestoneOverdue", due)]
    project = manager.get(f"/v1/projects/{pid}").json()
    assert project["version"] == version  # no event was stored
    [milestone] = project["milestones"]
    assert milestone["status"] == "not_achieved"


def test_the_event_stream_sends_notices_as_notice_frames(
    container: Container,
    users: Users,
    clock: SettableClock,
    live: Live,  # noqa: F811 - the fixture
) -> None:
    manager, admin = users("manager"), users("admin", GlobalRole.ADMIN)
    due = date.today() + timedelta(days=2)
    _pid, mid, position = _at_risk_milestone(manager, due)
    assert container.runner.wait_for(position, 10)
    noticer = _noticer(container, clock)
    raiser = threading.Timer(1.0, noticer.raise_now)
    frames: list[dict[str, Any]] = []

    with httpx.stream(
        "GET",
        f"{live.url}/v1/events/stream",
        params={"after": position, "max_seconds": 6},
        headers=admin.headers(),
        timeout=30,
    ) as stream:
        raiser.start()
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") and kind == "notice":
                frames.append(httpx.Response(200, content=line[6:]).json())
                break
    raiser.join()

    assert [(f["type"], f["data"]["milestone_id"], f["data"]["due"]) for f in frames] == [
        ("MilestoneDueSoon", mid, due.isoformat())
    ]
