"""The feed: commit order, as pages and as Server-Sent Events; every project's events for admins
and auditors, a member's own projects' for a member."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
import uvicorn
from eventsourcing.persistence import StoredEvent
from psycopg import Cursor
from psycopg.rows import DictRow

from adapters.postgres.principals import TokenScope
from adapters.postgres.recorder import LedgerRecorder
from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.settings import Settings
from application.access import GlobalRole
from application.ledger import Ledger
from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok

HOLD_SECONDS = 1.5


def test_everyone_may_follow_the_feed(users: Users) -> None:
    assert users("member").get("/v1/events").status_code == 200
    assert users("auditor", GlobalRole.AUDITOR).get("/v1/events").status_code == 200
    assert users("admin", GlobalRole.ADMIN).get("/v1/events").status_code == 200
    assert users("member").client.get("/v1/events").status_code == 401


def _interleaved(alice: User, bob: User) -> tuple[list[int], list[int]]:
    """Alice's project and Bob's, written in turns: the positions of each."""
    mine = ok(alice.post("/v1/projects", {"name": "Alice's"}))
    theirs = ok(bob.post("/v1/projects", {"name": "Bob's"}))
    written: tuple[list[int], list[int]] = ([mine["position"]], [theirs["position"]])
    for name in ("One", "Two", "Three"):
        for author, created, positions in ((alice, mine, written[0]), (bob, theirs, written[1])):
            path = f"/v1/projects/{created['project_id']}/phases"
            positions.append(ok(author.post(path, {"name": name}))["position"])
    return written


def test_a_member_follows_only_the_projects_it_reads_in_commit_order(
    users: Users, container: Container
) -> None:
    alice, bob, auditor = users("alice"), users("bob"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    alices, bobs = _interleaved(alice, bob)
    assert container.runner.wait_for(max(bobs + alices), timeout=10)  # memberships are known

    seen = _follow(alice, head, limit=2)
    everything = _follow(auditor, head)

    assert [e["position"] for e in seen] == alices
    assert [e["version"] for e in seen] == [1, 2, 3, 4]
    assert [e["position"] for e in everything] == sorted(alices + bobs)
    assert [e["position"] for e in _follow(bob, head)] == bobs


def test_a_scoped_admin_token_follows_only_its_projects(users: Users, container: Container) -> None:
    alice, bob = users("alice"), users("bob")
    admin = users("admin", GlobalRole.ADMIN)
    head = _head(admin)
    alices, bobs = _interleaved(alice, bob)
    pid = ok(admin.get("/v1/events", params={"after": alices[0] - 1, "limit": 1}))["events"][0]
    scope = TokenScope(projects=frozenset({UUID(pid["project_id"])}))
    scoped = User(admin.name, container.principals.create_token(admin.name, scope), admin.client)

    assert [e["position"] for e in _follow(scoped, head)] == alices
    assert [e["position"] for e in _follow(admin, head)] == sorted(alices + bobs)


def test_a_member_added_to_a_project_then_follows_it(users: Users, container: Container) -> None:
    alice, bob, auditor = users("alice"), users("bob"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    alices, bobs = _interleaved(alice, bob)
    listed = alice.get("/v1/projects", params={"min_position": alices[-1]}).json()
    pid = listed[0]["id"]
    added = ok(alice.post(f"/v1/projects/{pid}/members", {"principal": bob.name, "role": "viewer"}))
    assert container.runner.wait_for(added["position"], timeout=10)

    positions = [e["position"] for e in _follow(bob, head)]

    assert positions == sorted([*alices, *bobs, added["position"]])


def test_a_member_resuming_from_next_after_misses_nothing_of_its_own(
    users: Users, container: Container
) -> None:
    alice, bob, auditor = users("alice"), users("bob"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    first, _ = _interleaved(alice, bob)
    assert container.runner.wait_for(first[-1], timeout=10)
    page = ok(alice.get("/v1/events", params={"after": head}))
    later, _ = _interleaved(alice, bob)
    assert container.runner.wait_for(later[-1], timeout=10)

    resumed = _follow(alice, page["next_after"])

    assert [e["position"] for e in page["events"]] == first
    assert [e["position"] for e in resumed] == later


def test_the_feed_pages_through_every_event_in_commit_order(users: Users) -> None:
    alice, auditor = users("alice"), users("auditor", GlobalRole.AUDITOR)
    start = ok(auditor.get("/v1/events", params={"after": 0, "limit": 1}))
    head = _head(auditor)
    created = ok(alice.post("/v1/projects", {"name": "Fed"}))
    written = [created["position"]] + [
        ok(alice.post(f"/v1/projects/{created['project_id']}/phases", {"name": n}))["position"]
        for n in ("One", "Two", "Three")
    ]

    seen = _follow(auditor, head, limit=2)

    assert [e["position"] for e in seen] == written
    assert [e["version"] for e in seen] == [1, 2, 3, 4]
    assert seen[0]["type"] == "ProjectCreated"
    assert seen[1]["data"]["name"] == "One"
    assert start["events"][0]["position"] >= 1


def _head(user: User) -> int:
    after = 0
    while True:
        page = ok(user.get("/v1/events", params={"after": after, "limit": 1000}))
        if not page["events"]:
            return after
        after = page["next_after"]


def _follow(user: User, after: int, limit: int = 1000) -> list[dict[str, Any]]:
    """What a consumer reads by resuming after the last position it saw, until nothing is new."""
    seen: list[dict[str, Any]] = []
    while True:
        page = ok(user.get("/v1/events", params={"after": after, "limit": limit}))
        seen.extend(page["events"])
        if not page["events"] and page["next_after"] == after:
            return seen
        after = page["next_after"]


# --- a writer's transaction held open ------------------------------------------------------


class HeldRecorder(LedgerRecorder):
    """The service's recorder, but the next save after `arm()` keeps its transaction open
    (holding the events table's ordering lock) for HOLD_SECONDS before it commits."""

    armed = threading.Event()

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)
        if HeldRecorder.armed.is_set():
            HeldRecorder.armed.clear()
            # Another cursor: the library reads the events' positions from `curs`.
            with curs.connection.cursor() as extra:
                extra.execute("SELECT pg_sleep(%s)", (HOLD_SECONDS,), prepare=False)


@pytest.fixture
def held_ledger(container: Container) -> Iterator[Ledger]:
    env = dict(container.ledger.env)
    env["APPLICATION_RECORDER_TOPIC"] = f"{__name__}:HeldRecorder"
    ledger = Ledger(env=env)
    try:
        yield ledger
    finally:
        ledger.close()


def _ordering_lock_granted(database_url: str) -> bool:
    with psycopg.connect(database_url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " WHERE c.relname = 'ledger_events' AND l.mode = 'ExclusiveLock' AND l.granted"
        ).fetchone()
        return row is not None and row[0] > 0


def test_a_follower_misses_nothing_while_a_writer_holds_its_transaction_open(
    users: Users, container: Container, held_ledger: Ledger
) -> None:
    alice, auditor = users("alice"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    pids = [UUID(ok(alice.post("/v1/projects", {"name": f"Busy {n}"}))["project_id"]) for n in "ab"]
    failures: list[BaseException] = []

    def write(ledger: Ledger, pid: UUID, name: str) -> None:
        try:
            run_as(
                ledger,
                pid,
                lambda p: {"phase_id": p.add_phase(name, actor=alice.name)},
                actor=alice.name,
                needs=ProjectRole.MANAGER,
            )
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    HeldRecorder.armed.set()
    held = threading.Thread(target=write, args=(held_ledger, pids[0], "Held"))
    held.start()
    while held.is_alive() and not _ordering_lock_granted(container.database_url):
        time.sleep(0.01)  # the held save has not taken the ordering lock yet
    others = [
        threading.Thread(target=write, args=(container.ledger, pids[n % 2], f"Other {n}"))
        for n in range(6)
    ]
    for thread in others:
        thread.start()
    seen: list[dict[str, Any]] = []
    after = head
    # The consumer follows the feed the whole time, as a real one would.
    while held.is_alive() or any(t.is_alive() for t in others):
        page = ok(auditor.get("/v1/events", params={"after": after}))
        seen.extend(page["events"])
        after = page["next_after"]
        time.sleep(0.01)
    held.join()
    for thread in others:
        thread.join()
    seen.extend(_follow(auditor, after))

    assert failures == []
    committed = _positions_after(container.database_url, head)
    positions = [e["position"] for e in seen]
    assert positions == committed  # every committed event, once, in order
    phases = [e["data"]["name"] for e in seen if e["type"] == "PhaseAdded"]
    assert sorted(phases) == sorted(["Held", *(f"Other {n}" for n in range(6))])
    assert phases[0] == "Held"  # the others waited for the held transaction to commit

    # Every view applied every event: the audit trail has one row per position, and the
    # project views show the last version of each project.
    assert container.runner.wait_for(committed[-1], timeout=10)
    with container.pool.connection() as conn:
        audited = [
            r[0]
            for r in conn.execute(
                "SELECT position FROM audit_trail WHERE position > %s ORDER BY position", (head,)
            )
        ]
        versions: dict[UUID, int] = dict(
            conn.execute(
                "SELECT project_id, version FROM projects WHERE project_id = ANY(%s)", (pids,)
            ).fetchall()
        )
        scheduled: dict[UUID, int] = dict(
            conn.execute(
                "SELECT project_id, version FROM schedule_projects WHERE project_id = ANY(%s)",
                (pids,),
            ).fetchall()
        )
    assert audited == committed
    current: dict[UUID, int] = {p: container.ledger.repository.get(p).version for p in pids}
    assert versions == current == scheduled


def _positions_after(database_url: str, head: int) -> list[int]:
    with psycopg.connect(database_url) as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT notification_id FROM ledger_events WHERE notification_id > %s"
                " ORDER BY notification_id",
                (head,),
            )
        ]


# --- Server-Sent Events over a real server -------------------------------------------------


@dataclass
class Live:
    url: str


@pytest.fixture
def live(database_url: str, settings: Settings, container: Container) -> Iterator[Live]:
    """The API served by uvicorn on a spare port (a streaming response needs a real server);
    its own container, so its shutdown leaves the session's runner running."""
    own = bootstrap(settings, database_url)
    app = create_app(own, run_projections=False)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=2
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started and thread.is_alive():
        time.sleep(0.01)
    try:
        yield Live(f"http://127.0.0.1:{port}")
    finally:
        server.should_exit = True
        thread.join(10)
        own.close()


def _sse_events(lines: Iterator[str], count: int) -> list[dict[str, Any]]:
    """The next `count` events of a stream, each as {"id": ..., "data": ...}."""
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in lines:
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "data" in current:
            events.append(current)
            current = {}
            if len(events) == count:
                return events
    raise AssertionError(f"the stream ended after {len(events)} of {count} events")


def test_the_stream_delivers_new_events_and_resumes_after_last_event_id(
    users: Users, live: Live
) -> None:
    alice, auditor = users("alice"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    headers = auditor.headers()
    url = f"{live.url}/v1/events/stream"

    with httpx.stream("GET", url, params={"after": head}, headers=headers, timeout=30) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        # Written while the stream is open: the commits wake it.
        created = ok(alice.post("/v1/projects", {"name": "Streamed"}))
        pid = created["project_id"]
        written = [created["position"]] + [
            ok(alice.post(f"/v1/projects/{pid}/phases", {"name": n}))["position"]
            for n in ("One", "Two")
        ]
        received = _sse_events(lines, 3)

    assert [e["id"] for e in received] == written
    assert [e["data"]["position"] for e in received] == written
    assert [e["data"]["type"] for e in received] == ["ProjectCreated", "PhaseAdded", "PhaseAdded"]

    # A reconnecting client names the last event it received and gets only what follows.
    resumed_headers = {**headers, "Last-Event-ID": str(written[1])}
    with httpx.stream("GET", url, headers=resumed_headers, timeout=30) as stream:
        [resumed] = _sse_events(stream.iter_lines(), 1)
    assert resumed["id"] == written[2]


def test_a_members_stream_shows_only_its_own_projects_events(users: Users, live: Live) -> None:
    alice, bob, auditor = users("alice"), users("bob"), users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)
    url = f"{live.url}/v1/events/stream"

    with httpx.stream(
        "GET", url, params={"after": head}, headers=alice.headers(), timeout=30
    ) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        alices, _ = _interleaved(alice, bob)
        received = _sse_events(lines, len(alices))

    assert [e["id"] for e in received] == alices
    assert {e["data"]["project_id"] for e in received} == {received[0]["data"]["project_id"]}


def test_the_stream_ends_after_its_maximum_duration(users: Users, live: Live) -> None:
    auditor = users("auditor", GlobalRole.AUDITOR)
    head = _head(auditor)

    response = httpx.get(
        f"{live.url}/v1/events/stream",
        params={"after": head, "max_seconds": 0.5},
        headers=auditor.headers(),
        timeout=30,
    )

    assert response.status_code == 200
    assert response.text.startswith("retry: ")
