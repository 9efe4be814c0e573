"""Check 7: crash PostgreSQL (`pg_ctl stop -m immediate`) under load, several times — nothing
acknowledged is lost, the service serves again within 30 s of the database's return without
being restarted, and the views equal a rebuild."""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from adapters.postgres.embedded import ensure_database
from tests.integration.processes import REPO, wait_until
from tests.reliability.conftest import Figure, Served, serve
from tests.reliability.crashable import CrashablePostgres
from tests.reliability.harness import (
    cli_env,
    client,
    ok,
    rebuild_differences,
    stored_events,
    wait_for_views,
)
from tests.reliability.sizes import Sizes
from tests.reliability.workload import (
    Journal,
    Lifecycles,
    lost_acknowledged,
    run_clients,
    stored_refusals,
)

CRASH_DIR = REPO / ".milestones" / f"reliability-crash-pg-{os.getpid()}"
RECOVERY_BOUND = 30.0  # seconds, the bound


@pytest.fixture
def crashable() -> Iterator[CrashablePostgres]:
    server = CrashablePostgres(CRASH_DIR)
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.mark.check(7)
def test_database_crashes_under_load_lose_nothing_acknowledged_and_service_recovers(
    crashable: CrashablePostgres, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    url = ensure_database(crashable.uri, "crash")
    durability = crashable.durability()
    # The service must start without MILESTONES_ALLOW_UNSAFE_DURABILITY: this server is durable.
    served: Served = serve(url, tmp_path, MILESTONES_ALLOW_UNSAFE_DURABILITY="n")
    journal = Journal()
    clients = [
        Lifecycles(
            client(served.base, served.manager_token, timeout=15),
            client(served.base, served.reviewer_token, timeout=15),
            served.reviewer,
            journal,
            refusals=True,
        )
        for _ in range(4)
    ]
    probe = client(served.base, served.manager_token, timeout=5)
    probe_project = ok(probe.post("/v1/projects", json={"name": "Probe"}))["project_id"]
    stop = threading.Event()
    threads = run_clients(clients, stop)
    rng = random.Random()
    recoveries: list[float] = []
    down_answers: dict[int | None, int] = {}
    try:
        for n in range(sizes.database_stops):
            time.sleep(rng.uniform(1.0, 3.0))  # under load, at a random moment
            crashable.crash()
            down_until = time.monotonic() + rng.uniform(1.0, 3.0)
            while time.monotonic() < down_until:
                status = _probe(probe, probe_project, f"down-{n}")
                down_answers[status] = down_answers.get(status, 0) + 1
                time.sleep(0.2)
            crashable.restart()
            back = time.monotonic()
            wait_until(
                lambda n=n: _probe(probe, probe_project, f"up-{n}") == 201,  # type: ignore[misc]
                120,
                "a command to succeed after the database came back",
            )
            recoveries.append(time.monotonic() - back)
        time.sleep(2.0)  # a little load on the recovered database too
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)

    try:
        last = wait_for_views(url)
        ready = httpx.get(f"{served.base}/ready", timeout=5).status_code
        events = stored_events(url)
        lost = lost_acknowledged(journal, events)
        leaked = stored_refusals(journal, events)
        differences = rebuild_differences(cli_env(url, tmp_path), url)
    finally:
        served.service.kill()
    figure(
        f"PostgreSQL ({durability}) stopped -m immediate {len(recoveries)} times under load; "
        f"answers while down {down_answers}; service served again {_seconds(recoveries)} after "
        f"each return (bound {RECOVERY_BOUND:.0f} s), never restarted (starts: "
        f"{served.service.process.starts}); {len(journal.acknowledged)} acknowledged, "
        f"{len(lost)} lost; {len(journal.refused)} refused, {len(leaked)} stored; statuses "
        f"{journal.statuses()}; views at {last}, vs rebuild: {len(differences)} differences"
    )

    assert len(recoveries) == sizes.database_stops
    assert max(recoveries) <= RECOVERY_BOUND
    assert served.service.process.starts == 1
    assert len(journal.acknowledged) > 0
    assert lost == []
    assert leaked == []
    assert ready == 200
    assert differences == []


def _probe(http: httpx.Client, project: str, name: str) -> int | None:
    """One command; its status (None: no answer)."""
    try:
        body = {"name": f"{name}-{time.monotonic_ns()}"}
        return http.post(f"/v1/projects/{project}/phases", json=body).status_code
    except httpx.TransportError:
        return None


def _seconds(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.1f} s" for v in values) + "]"
