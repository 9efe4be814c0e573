"""Check 3: readers never skip a committed event — concurrent writers, and a write held open."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from uuid import UUID

import httpx
import pytest

from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import (
    cli_env,
    client,
    ok,
    rebuild_differences,
    stored_events,
    wait_for_views,
)
from tests.reliability.holding import HoldingRecorder, holding_ledger
from tests.reliability.sizes import Sizes


class FeedTail:
    """Follows GET /v1/events from a thread as a consumer would: each page after the last
    position it read. What it saw must be the final log, in order, with nothing missing."""

    def __init__(self, base: str, token: str, after: int) -> None:
        self.http = client(base, token)
        self.after = after
        self.seen: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> FeedTail:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join()

    def _run(self) -> None:
        while not self.stop.is_set():
            self.read_page()

    def read_page(self) -> int:
        page = ok(self.http.get("/v1/events", params={"after": self.after, "limit": 1000}))
        self.seen.extend(e["position"] for e in page["events"])
        self.after = page["next_after"]
        return len(page["events"])

    def drain(self) -> None:
        while self.read_page():
            pass


@pytest.mark.check(3)
def test_two_writers_commit_in_whole_transactions_and_a_feed_reader_misses_none(
    served: Served, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    manager = client(served.base, served.manager_token)
    commands = sizes.events_per_writer // 2  # each command below writes two events
    projects = [
        ok(manager.post("/v1/projects", json={"name": f"Writer {w}"}))["project_id"]
        for w in range(2)
    ]
    targets: list[str] = []
    for pid in projects:
        phase = ok(manager.post(f"/v1/projects/{pid}/phases", json={"name": "P"}))["phase_id"]
        body = {"title": "D", "phase_id": phase}
        did = ok(manager.post(f"/v1/projects/{pid}/deliverables", json=body))["deliverable_id"]
        targets.append(f"/v1/projects/{pid}/deliverables/{did}")
    start = wait_for_views(served.url)
    answers: list[list[httpx.Response]] = [[], []]

    def write(w: int) -> None:
        c = client(served.base, served.manager_token)
        for k in range(commands):
            # Two fields changed: two events, which must commit together and adjacent.
            edit = {"title": f"w{w} title {k}", "description": f"w{w} text {k}"}
            answers[w].append(c.patch(targets[w], json=edit))

    with FeedTail(served.base, served.admin_token, start) as tail:
        writers = [threading.Thread(target=write, args=(w,)) for w in range(2)]
        for thread in writers:
            thread.start()
        for thread in writers:
            thread.join()
    tail.drain()

    events = [e for e in stored_events(served.url) if e.position > start]
    order = [e.position for e in events]
    previous = {b.position: a for a, b in itertools.pairwise(events)}
    split = [
        r.json()["position"]
        for rs in answers
        for r in rs
        if r.status_code == 200
        and (
            (before := previous.get(r.json()["position"])) is None
            or str(before.stream) != r.json()["project_id"]
            or before.version != r.json()["version"] - 1
        )
    ]
    wait_for_views(served.url)
    differences = rebuild_differences(cli_env(served.url, tmp_path), served.url)
    statuses = sorted({r.status_code for rs in answers for r in rs})
    interleaved = sum(1 for a, b in itertools.pairwise(events) if a.stream != b.stream)
    figure(
        f"2 writers × {commands} two-event commands = {len(events)} events; statuses "
        f"{statuses}; {len(split)} commands whose events were split; the feed reader saw "
        f"{len(tail.seen)} of {len(order)} in order: {tail.seen == order}; writers' streams "
        f"alternate {interleaved} times in the log; views vs rebuild: {len(differences)} diffs"
    )

    assert statuses == [200]
    assert len(events) == 2 * 2 * commands
    assert split == []  # each transaction's events are adjacent: no interleaving inside one
    assert tail.seen == order  # in commit order, none skipped, none twice
    assert differences == []


@pytest.mark.check(3)
# The others queue behind the held write's ordering lock (that lock is what keeps commit order
# equal to position order); they must outwait the hold rather than give up after 5 s.
@pytest.mark.service_env(MILESTONES_LOCK_TIMEOUT="30")
def test_a_write_held_open_delays_the_others_and_no_reader_skips_any_of_them(
    served: Served, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    manager = client(served.base, served.manager_token)
    held_project = UUID(ok(manager.post("/v1/projects", json={"name": "Held"}))["project_id"])
    others = ok(manager.post("/v1/projects", json={"name": "Others"}))["project_id"]
    start = wait_for_views(served.url)
    ledger = holding_ledger(served.url)
    held_result: list[int | None] = []

    def held_write() -> None:
        result = run_as(
            ledger,
            held_project,
            lambda p: {"phase_id": p.add_phase("held open", actor=served.manager)},
            actor=served.manager,
            needs=ProjectRole.MANAGER,
        )
        held_result.append(result.position)

    clients_n = 10
    per_client = sizes.behind_held_write // clients_n
    answers: list[httpx.Response] = []
    sent_during_hold: list[float] = []
    lock = threading.Lock()

    def write_others(c: int) -> None:
        http = client(served.base, served.manager_token, timeout=60)
        for k in range(per_client):
            sent = time.monotonic()
            response = http.post(f"/v1/projects/{others}/phases", json={"name": f"c{c}-{k}"})
            with lock:
                answers.append(response)
                sent_during_hold.append(sent)

    HoldingRecorder.seconds = sizes.held_seconds
    try:
        with FeedTail(served.base, served.admin_token, start) as tail:
            holder = threading.Thread(target=held_write)
            holder.start()
            assert HoldingRecorder.holding.wait(30), "the held write never reached its hold"
            HoldingRecorder.seconds = 0.0  # only that one save is held
            hold_began = time.monotonic()
            threads = [threading.Thread(target=write_others, args=(c,)) for c in range(clients_n)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            holder.join()
    finally:
        HoldingRecorder.seconds = 0.0
        ledger.close()
    tail.drain()

    events = [e for e in stored_events(served.url) if e.position > start]
    order = [e.position for e in events]
    held_position = held_result[0]
    last = wait_for_views(served.url)
    schedule = ok(manager.get(f"/v1/projects/{others}/schedule", params={"min_position": last}))
    held_schedule = ok(
        manager.get(f"/v1/projects/{held_project}/schedule", params={"min_position": last})
    )
    differences = rebuild_differences(cli_env(served.url, tmp_path), served.url)
    statuses = sorted({r.status_code for r in answers})
    in_hold = sum(1 for t in sent_during_hold if t - hold_began < sizes.held_seconds)
    figure(
        f"1 write held {sizes.held_seconds:.0f} s at position {held_position}; "
        f"{len(answers)} others (statuses {statuses}, {in_hold} sent while it was held) "
        f"committed at {min(order[1:], default=None)}..{max(order, default=None)}; feed reader "
        f"saw all {len(order)} in order: {tail.seen == order}; views vs rebuild: "
        f"{len(differences)} differences"
    )

    assert statuses == [201]
    assert held_position is not None
    assert order[0] == held_position  # first to take the lock, first in commit order
    assert len(order) == 1 + sizes.behind_held_write
    assert tail.seen == order
    assert [p["name"] for p in held_schedule["phases"]] == ["held open"]
    assert len(schedule["phases"]) == sizes.behind_held_write
    assert differences == []
