"""Failure behaviour: the database going away and coming back, SIGTERM, SIGKILL, N processes.

Each test runs its own PostgreSQL (the embedded server in a data dir of its own) or its own
database, never stopping a server anyone else uses.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from adapters.postgres.database import open_pool
from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from adapters.postgres.principals import Principals
from api.app import create_app
from api.bootstrap import bootstrap, build_ledger, upgrade
from api.problems import PROBLEM_JSON
from api.settings import Settings
from application.access import GlobalRole, Principal
from tests.integration.processes import (
    MILESTONES,
    REPO,
    free_port,
    fresh_database,
    service_env,
    spawn,
    stop,
    wait_until,
)

# One data dir per test run: several test sessions may run at once on this machine.
OWN_SERVER_DIR = REPO / ".milestones" / f"test-failure-pg-{os.getpid()}"
KILLED_SERVE_DIR = REPO / ".milestones" / f"test-sigkill-{os.getpid()}"
# Bounds how long a broken run waits; the service is expected to be much faster.
PATIENCE = 60


@pytest.fixture
def own_server() -> Iterator[tuple[EmbeddedPostgres, str]]:
    server = EmbeddedPostgres(OWN_SERVER_DIR)
    url = ensure_database(server.start(), "failure")
    try:
        yield server, url
    finally:
        server.stop()
        shutil.rmtree(OWN_SERVER_DIR, ignore_errors=True)


def test_with_the_database_down_requests_fail_fast_with_503_and_recover_without_a_restart(
    own_server: tuple[EmbeddedPostgres, str],
) -> None:
    server, url = own_server
    settings = Settings(pool_size=2, pool_max_overflow=2)
    upgrade(url, settings)
    container = bootstrap(settings, url)
    try:
        container.principals.add("operator", GlobalRole.MEMBER)
        auth = {"Authorization": f"Bearer {container.principals.create_token('operator')}"}
        with TestClient(create_app(container), raise_server_exceptions=False) as client:
            pid = client.post("/v1/projects", json={"name": "Outage"}, headers=auth).json()
            phases = f"/v1/projects/{pid['project_id']}/phases"

            server.stop()
            started = time.perf_counter()
            down = client.post(phases, json={"name": "During"}, headers=auth)
            elapsed = time.perf_counter() - started
            schedule = client.get(f"/v1/projects/{pid['project_id']}/schedule", headers=auth)
            ready = client.get("/ready")

            assert server.start().startswith("postgresql")  # same data dir, same socket
            # Commands work again once the pools reconnect, with no restart of the service...
            after = wait_until(
                lambda: _created(client.post(phases, json={"name": "After"}, headers=auth)),
                PATIENCE,
                "a command to succeed again",
            )
            # ...and so do the views: the runner reconnected and applied the new event.
            view = client.get(
                f"/v1/projects/{pid['project_id']}/schedule",
                params={"min_position": after["position"]},
                headers=auth,
            )
            ready_again = wait_until(
                lambda: _ok(client.get("/ready")), PATIENCE, "/ready to answer 200 again"
            )
    finally:
        container.close()

    assert down.status_code == 503
    assert down.headers["content-type"] == PROBLEM_JSON
    assert down.json()["status"] == 503
    assert "Retry-After" in down.headers
    # The bound: a request fails within 2 s rather than hanging on retries.
    assert elapsed < 2.0, elapsed
    assert schedule.status_code == 503
    assert ready.status_code == 503
    assert view.status_code == 200
    assert [p["name"] for p in view.json()["phases"]] == ["After"]
    assert ready_again["status"] == "ready"


def _created(response: httpx.Response) -> dict[str, Any] | None:
    return response.json() if response.status_code == 201 else None


def _ok(response: httpx.Response) -> dict[str, Any] | None:
    return response.json() if response.status_code == 200 else None


def test_sigterm_lets_in_flight_requests_finish_then_stops(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        settings = Settings(pool_size=2, pool_max_overflow=0)
        upgrade(url, settings)
        token = _token(url, settings, "drainer")
        ledger = build_ledger(url, settings)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = spawn(
            [*MILESTONES, "serve", "--port", str(port)], service_env(url), tmp_path / "serve.log"
        )
        try:
            wait_until(lambda: _ok(httpx.get(f"{base}/ready")), PATIENCE, "the server")
            beyond = (ledger.recorder.max_notification_id() or 0) + 1
            answers: list[httpx.Response] = []
            # A read waiting for a position nobody has written yet: in flight until we write.
            waiting = threading.Thread(
                target=lambda: answers.append(
                    httpx.get(
                        f"{base}/v1/projects",
                        params={"min_position": beyond},
                        headers={"Authorization": f"Bearer {token}"},
                        timeout=PATIENCE,
                    )
                )
            )
            waiting.start()
            time.sleep(0.5)  # let the request reach the server
            serve.send_signal(signal.SIGTERM)
            time.sleep(0.5)  # the server is draining now
            refused = _refused(f"{base}/health")
            ledger.create_project(Principal("drainer"), name="Written while draining")
            waiting.join(PATIENCE)
            code = serve.wait(PATIENCE)
        finally:
            stop(serve)
            ledger.close()

    assert refused  # no new connections once draining
    assert [a.status_code for a in answers] == [200]  # the in-flight request got its answer
    assert [p["name"] for p in answers[0].json()] == ["Written while draining"]
    assert code == 0


def _refused(url: str) -> bool:
    try:
        httpx.get(url, timeout=2)
    except httpx.TransportError:
        return True
    return False


def _token(url: str, settings: Settings, name: str, role: GlobalRole = GlobalRole.MEMBER) -> str:
    pool = open_pool(url, settings)
    try:
        principals = Principals(pool)
        principals.add(name, role)
        return principals.create_token(name)
    finally:
        pool.close()


def test_serve_with_two_api_processes_answers_counts_and_stops_cleanly(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        settings = Settings(pool_size=2, pool_max_overflow=0)
        upgrade(url, settings)
        auth = {"Authorization": f"Bearer {_token(url, settings, 'twin')}"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        serve = spawn(
            [*MILESTONES, "serve", "--port", str(port), "--workers", "2"],
            service_env(url),
            tmp_path / "serve.log",
        )
        try:
            ready = wait_until(lambda: _ok(httpx.get(f"{base}/ready")), PATIENCE, "the server")
            created = [
                httpx.post(f"{base}/v1/projects", json={"name": f"Twin {n}"}, headers=auth)
                for n in range(6)
            ]
            last = max(c.json()["position"] for c in created)
            listed = httpx.get(f"{base}/v1/projects", params={"min_position": last}, headers=auth)
            metrics = httpx.get(f"{base}/metrics").text
            code = stop(serve)
        finally:
            stop(serve)

    assert ready["status"] == "ready"  # the supervisor's runner holds every view
    assert [c.status_code for c in created] == [201] * 6
    assert sorted(p["name"] for p in listed.json()) == [f"Twin {n}" for n in range(6)]
    # Counted across both API processes, whichever answered the scrape.
    line = 'milestones_http_requests_total{method="POST",route="/v1/projects",status="201"} 6.0'
    assert line in metrics
    assert code == 0


def test_after_sigkill_the_next_start_recovers_without_manual_steps(tmp_path: Path) -> None:
    env = service_env(None, MILESTONES_DATA_DIR=str(KILLED_SERVE_DIR))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = [*MILESTONES, "serve", "--port", str(port)]
    first = spawn(serve, env, tmp_path / "first.log")
    try:
        wait_until(lambda: _ok(httpx.get(f"{base}/ready")), PATIENCE, "the first server")
    finally:
        os.kill(first.pid, signal.SIGKILL)  # no cleanup at all: the embedded server stays up
        first.wait()
    second = spawn(serve, env, tmp_path / "second.log")
    try:
        ready = wait_until(lambda: _ok(httpx.get(f"{base}/ready")), PATIENCE, "the second")
    finally:
        code = stop(second)

    stopped = not (KILLED_SERVE_DIR / "pg" / "postmaster.pid").exists()
    shutil.rmtree(KILLED_SERVE_DIR, ignore_errors=True)

    assert ready["status"] == "ready"
    assert code == 0
    assert stopped  # the second server stopped the embedded PostgreSQL on its way out
