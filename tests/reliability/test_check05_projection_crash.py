"""Check 5: SIGKILL the projection worker at random moments while events pour in — the views
equal a full rebuild, nothing is lost or doubled, and tracking ends at the last position."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from api.bootstrap import build_ledger, upgrade
from api.settings import Settings
from application.access import Principal
from application.ledger import Ledger
from domain.project import Project
from domain.roles import ProjectRole
from tests.commanding import run_as
from tests.integration.processes import wait_until
from tests.reliability.conftest import Figure
from tests.reliability.harness import (
    Process,
    cli_env,
    head,
    rebuild_differences,
    stored_events,
    tracking,
)
from tests.reliability.sizes import Sizes

MANAGER, REVIEWER = "manager", "reviewer"
EVENTS_PER_PROJECT = 600  # a new project now and then: snapshots, several streams per page


class Writer(threading.Thread):
    """Writes whole deliverable lifecycles straight through the ledger (the API is not what
    this check is about) until `total` events are stored."""

    def __init__(self, ledger: Ledger, total: int) -> None:
        super().__init__(daemon=True)
        self.ledger = ledger
        self.total = total
        self.written = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while self.written < self.total:
                self._project()
        except BaseException as error:  # reported by the test
            self.error = error

    def _project(self) -> None:
        created = self.ledger.create_project(Principal(MANAGER), name="Crash site")
        pid = created.project_id
        phase = self._do(pid, MANAGER, lambda p: self._setup(p))
        in_project = 2
        while in_project < EVENTS_PER_PROJECT and self.written < self.total:
            did = self._do(pid, MANAGER, lambda p: self._deliverable(p, phase))

            def approve(p: Project, did: UUID = did) -> None:
                p.approve(did, actor=REVIEWER)

            self._do(pid, REVIEWER, approve)
            due = date.today() + timedelta(days=random.randint(-5, 40))

            def milestone(p: Project, due: date = due, did: UUID = did) -> None:
                mid = p.define_milestone(
                    name="Proved", phase_id=phase, due=due, deliverable_ids=[did], actor=MANAGER
                )
                p.achieve(mid, actor=MANAGER)

            self._do(pid, MANAGER, milestone)
            in_project += 9

    def _setup(self, p: Project) -> UUID:
        p.set_member(REVIEWER, ProjectRole.REVIEWER, actor=MANAGER)
        return p.add_phase("Work", actor=MANAGER)

    @staticmethod
    def _deliverable(p: Project, phase: UUID) -> UUID:
        did = p.define_deliverable(title="Output", phase_id=phase, actor=MANAGER)
        for text in ("complete", "reviewed"):
            cid = p.add_criterion(did, text, actor=MANAGER)
            p.record_evidence(did, cid, f"https://evidence.example/{cid}", actor=MANAGER)
        p.submit(did, actor=MANAGER)
        return did

    def _do(self, pid: UUID, actor: str, act: Callable[[Project], object]) -> UUID:
        box: list[UUID] = []

        def run(p: Project) -> None:
            value = act(p)
            if isinstance(value, UUID):
                box.append(value)

        result = run_as(self.ledger, pid, run, actor=actor, needs=ProjectRole.VIEWER)
        self.written = max(self.written, result.position or 0)
        return box[0] if box else pid


@pytest.mark.check(5)
def test_killing_the_worker_at_random_moments_loses_and_doubles_nothing(
    own_database: str, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    url = own_database
    upgrade(url, Settings())
    env = cli_env(url, tmp_path)
    ledger = build_ledger(url, Settings(pool_size=2, pool_max_overflow=0))
    writer = Writer(ledger, sizes.projection_events)
    worker = Process(["worker"], env, tmp_path)
    killed_at: list[int] = []
    rng = random.Random()
    try:
        writer.start()
        for _ in range(sizes.worker_kills):
            before = min(tracking(url).values())
            worker.start()

            def applying(before: int = before) -> bool:
                return min(tracking(url).values()) > before or head(url) == before

            # Killed only once it is applying events (not while still importing), at a
            # random moment after that: mid-page, between pages, while waiting.
            wait_until(applying, 90, "the worker to apply events")
            time.sleep(rng.uniform(0.0, 1.0))
            worker.kill()
            killed_at.append(min(tracking(url).values()))
        writer.join()
        assert writer.error is None, writer.error
        worker.start()
        last = head(url)
        wait_until(lambda: min(tracking(url).values()) >= last, 300, "the last worker")
        positions = tracking(url)
    finally:
        worker.stop()
        ledger.close()

    events = stored_events(url)
    with psycopg.connect(url) as conn:
        audited = [int(r[0]) for r in conn.execute("SELECT position FROM audit_trail ORDER BY 1")]
    differences = rebuild_differences(env, url)
    figure(
        f"{len(events)} events, worker SIGKILLed {len(killed_at)} times (views at positions "
        f"{killed_at}); tracking at the end {sorted(set(positions.values()))} vs last position "
        f"{last}; audit rows {len(audited)} for {len(events)} events; views vs rebuild: "
        f"{len(differences)} differences"
    )

    assert len(killed_at) == sizes.worker_kills
    assert set(positions.values()) == {last}
    assert audited == [e.position for e in events]  # each event applied once: none lost, none twice
    assert differences == []
