"""No member can take the service down (issue 13, findings 1, 2, 3 and 5): each attack runs
against a real `milestones serve` over real sockets, while a bystander measures how long
everybody else waits for an answer.

Figures are printed (`-s`). The bounds are the issue's (other users answered within 1 s, a
revoked token's stream ended within 1 s, waits bounded by 5 s) at the 99th percentile, with
the maximum allowed some slack for a loaded 2-core machine.
"""

from __future__ import annotations

import json
import signal
import socket
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from adapters.postgres.database import open_pool
from adapters.postgres.principals import Principals
from api.bootstrap import build_ledger, upgrade
from api.settings import Settings
from application.access import GlobalRole
from tests.commanding import create_project, run_as
from tests.integration.hostile import (
    CHUNKED_END,
    Bystander,
    alive,
    children_of,
    raw_get,
    read_to_end,
    read_until,
    server_errors,
    status_of,
)
from tests.integration.processes import (
    MILESTONES,
    free_port,
    fresh_database,
    service_env,
    spawn,
    stop,
    wait_until,
)

# The issue's bound for other users' answers, held at the 99th percentile; the slowest single
# answer may take up to MAX_ANSWER (a loaded 2-core machine shares its CPU with the attack).
P99_ANSWER = 1.0
MAX_ANSWER = 2.0
SEND_TIMEOUT = 3.0  # MILESTONES_SEND_TIMEOUT of the server under attack
KEEPALIVE = 1.0  # MILESTONES_STREAM_KEEPALIVE
SHUTDOWN_TIMEOUT = 5.0
PATIENCE = 60.0
# Deliverables with the longest description R14 allows: the attacker's audit export is ~2 MB.
BULKY_DELIVERABLES = 600
BULKY_PER_COMMAND = 25


@dataclass
class Service:
    url: str  # the database
    base: str
    port: int
    log: Path
    tokens: dict[str, str]
    attacker_project: str
    bystander_project: str

    def revoke(self, token: str) -> None:
        pool = open_pool(self.url, Settings(pool_size=1, pool_max_overflow=0))
        try:
            assert Principals(pool).revoke_token(token)
        finally:
            pool.close()


def _principals(url: str) -> dict[str, str]:
    roles = {
        "attacker": GlobalRole.MEMBER,
        "bystander": GlobalRole.MEMBER,
        "loner": GlobalRole.MEMBER,  # no project at all: the waiting principal
        "auditor": GlobalRole.AUDITOR,
        "revoked": GlobalRole.AUDITOR,
        **{f"waiter{n}": GlobalRole.MEMBER for n in range(10)},
    }
    pool = open_pool(url, Settings(pool_size=1, pool_max_overflow=0))
    try:
        principals = Principals(pool)
        for name, role in roles.items():
            principals.add(name, role)
        return {name: principals.create_token(name) for name in roles}
    finally:
        pool.close()


def _bulky_project(url: str) -> tuple[str, str, int]:
    """The attacker's project (~6 MB of audit trail), the bystander's, and the last position."""
    ledger = build_ledger(url, Settings(pool_size=2, pool_max_overflow=0))
    try:
        attacker = create_project(ledger, "attacker", "Bulky")
        phase = run_as(
            ledger,
            attacker,
            lambda p: {"phase": p.add_phase("Only", actor="attacker")},
            actor="attacker",
        ).ids["phase"]
        bulk = "x" * 10_000

        def define(first: int) -> Callable[[Any], None]:
            def act(project: Any) -> None:
                for n in range(first, first + BULKY_PER_COMMAND):
                    project.define_deliverable(
                        title=f"D{n}", phase_id=phase, description=bulk, actor="attacker"
                    )

            return act

        # In commands of 250 KB: a save of megabytes in one pipeline hangs on a Unix socket
        # (psycopg's pipeline to the embedded server: found with this test, not fixed here).
        for first in range(0, BULKY_DELIVERABLES, BULKY_PER_COMMAND):
            written = run_as(ledger, attacker, define(first), actor="attacker")
        bystander = create_project(ledger, "bystander", "Ordinary")
        assert written.position is not None
        return str(attacker), str(bystander), written.position
    finally:
        ledger.close()


def _serve(url: str, port: int, log: Path) -> Any:
    env = service_env(
        url,
        MILESTONES_SEND_TIMEOUT=str(SEND_TIMEOUT),
        MILESTONES_STREAM_KEEPALIVE=str(KEEPALIVE),
        MILESTONES_SHUTDOWN_TIMEOUT=str(SHUTDOWN_TIMEOUT),
    )
    return spawn([*MILESTONES, "serve", "--port", str(port)], env, log)


def _ready(base: str) -> bool:
    return httpx.get(f"{base}/ready", timeout=5).status_code == 200


def _audited(base: str, token: str, position: int) -> bool:
    answer = httpx.get(
        f"{base}/v1/audit",
        params={"min_position": position, "limit": 1},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    return answer.status_code == 200


@pytest.fixture(scope="module")
def service(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    with fresh_database(database_url) as url:
        upgrade(url, Settings(pool_size=1, pool_max_overflow=0))
        tokens = _principals(url)
        attacker_project, bystander_project, last = _bulky_project(url)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        log = tmp_path_factory.mktemp("hostile") / "serve.log"
        serve = _serve(url, port, log)
        try:
            wait_until(lambda: _ready(base), PATIENCE, "the server")
            wait_until(lambda: _audited(base, tokens["attacker"], last), PATIENCE, "the views")
            yield Service(url, base, port, log, tokens, attacker_project, bystander_project)
        finally:
            stop(serve)
        assert server_errors(log) == []


def _bystander(service: Service) -> Bystander:
    return Bystander(service.base, service.tokens["bystander"], service.bystander_project)


def _assert_answered_in_time(figures: dict[str, Any]) -> None:
    assert figures["not_ok"] == []
    assert figures["p99"] <= P99_ANSWER, figures
    assert figures["max"] <= MAX_ANSWER, figures


def _cut_off(log: Path) -> int:
    return log.read_text(errors="replace").count("streamed answer cut off")


def _idle_in_transaction(url: str) -> list[str]:
    """The sessions of the service idle inside a transaction for over a second."""
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT application_name, state, left(query, 80), now() - state_change"
            " FROM pg_stat_activity"
            " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
            " AND now() - state_change > interval '1 second'"
        ).fetchall()
    return [str(row) for row in rows]


# --- finding 1: slow and abandoned exports -------------------------------------------------


def test_fifty_exports_that_read_nothing_hold_no_connection_and_are_cut_off(
    service: Service,
) -> None:
    token = service.tokens["attacker"]
    full = httpx.get(
        f"{service.base}/v1/audit",
        headers={"Authorization": f"Bearer {token}", "Accept": "text/csv"},
        timeout=PATIENCE,
    )
    history = f"/v1/projects/{service.attacker_project}/history"
    exports = [
        ("/v1/audit", "text/csv"),
        ("/v1/audit", "application/x-ndjson"),
        (history, "text/csv"),
        (history, "application/x-ndjson"),
    ]
    idle: list[str] = []
    with _bystander(service) as others:
        stuck = [
            raw_get(service.port, path, token, accept, tiny=True)
            for path, accept in (exports[n % len(exports)] for n in range(50))
        ]
        # A dozen that read the start and hang up (the abandoned exports).
        for _ in range(12):
            gone = raw_get(service.port, "/v1/audit", token, "text/csv", tiny=True)
            read_until(gone, b"\r\n\r\n", 5)
            gone.close()
        for _ in range(8):
            time.sleep(0.5)
            idle.extend(_idle_in_transaction(service.url))
        # Each one fills the buffers between it and the server (~4 MB on loopback), then
        # waits; the server gives up on it once it has accepted nothing for the send timeout.
        wait_until(lambda: _cut_off(service.log) >= 50, PATIENCE, "the exports to be cut off")
    figures = others.figures()
    # The stuck clients read now: what the server had sent before it cut them off, then EOF.
    ends = [read_to_end(sock, 10) for sock in stuck]
    for sock in stuck:
        sock.close()
    print(f"\n50 slow exports: other users {figures}; idle in transaction {idle}")

    assert full.status_code == 200
    assert len(full.content) > 1_000_000  # more than a stuck client's buffers can take
    assert idle == []
    _assert_answered_in_time(figures)
    assert [status_of(data) for data, _ in ends] == [200] * 50
    assert all(closed for _, closed in ends)  # the server ended every one of them...
    assert not any(data.endswith(CHUNKED_END) for data, _ in ends)  # ...visibly unfinished


def test_an_export_read_to_the_end_is_every_row_newest_first_once(service: Service) -> None:
    headers = {"Authorization": f"Bearer {service.tokens['attacker']}"}
    csv_rows = httpx.get(
        f"{service.base}/v1/audit", headers={**headers, "Accept": "text/csv"}, timeout=PATIENCE
    ).text.splitlines()
    lines = httpx.get(
        f"{service.base}/v1/audit",
        headers={**headers, "Accept": "application/x-ndjson"},
        timeout=PATIENCE,
    ).text.splitlines()
    positions = [json.loads(line)["position"] for line in lines]

    # Pages of 1,000 rows: the export spans pages, each read in its own transaction.
    assert len(positions) == BULKY_DELIVERABLES + 2 > 200
    assert positions == sorted(set(positions), reverse=True)
    assert csv_rows[0].startswith("position,")


# --- findings 2 and 5: the event stream ------------------------------------------------------


def _open_stream(service: Service, who: str, query: str = "") -> socket.socket:
    sock = raw_get(service.port, f"/v1/events/stream{query}", service.tokens[who])
    head = read_until(sock, b"retry: 2000", 10)
    assert status_of(head) == 200, head[:200]
    return sock


def _write(service: Service) -> int:
    answer = httpx.post(
        f"{service.base}/v1/projects/{service.bystander_project}/phases",
        json={"name": f"Live {time.time_ns()}"},
        headers={"Authorization": f"Bearer {service.tokens['bystander']}"},
        timeout=10,
    )
    assert answer.status_code == 201
    return int(answer.json()["position"])


def test_three_rounds_of_forty_streams_dropped_at_once_leave_the_feed_live(
    service: Service,
) -> None:
    head = _write(service)
    with _bystander(service) as others:
        for _ in range(3):
            # Most follow the head (waiting for the next commit when dropped), some replay
            # the whole log (reading their backlog when dropped).
            starts = [f"?after={head}"] * 30 + [""] * 10
            streams = [_open_stream(service, "auditor", start) for start in starts]
            time.sleep(0.3)
            for sock in streams:
                sock.close()
            time.sleep(0.3)
    figures = others.figures()
    print(f"\n3 x 40 dropped streams: other users {figures}")

    # A stream opened afterwards still gets live events, keep-alives, and its end on time.
    after = _write(service)
    sock = _open_stream(service, "auditor", f"?after={after}&max_seconds=3")
    time.sleep(0.2)
    written_at = time.monotonic()
    position = _write(service)
    live = read_until(sock, f"id: {position}".encode(), 5)
    heard_after = time.monotonic() - written_at
    rest = read_until(sock, CHUNKED_END, 10)
    ended_after = time.monotonic() - written_at + 0.2
    sock.close()
    print(
        f"live event after {heard_after:.3f} s; max_seconds=3 stream ended at {ended_after:.2f} s"
    )

    _assert_answered_in_time(figures)
    assert f"id: {position}".encode() in live
    assert heard_after < 1.0
    assert b": keep-alive" in live + rest
    assert rest.endswith(CHUNKED_END)  # ended, and properly
    assert ended_after < 3.0 + 1.0


def test_a_revoked_token_ends_its_open_stream_within_a_second(service: Service) -> None:
    sock = _open_stream(service, "revoked", "?max_seconds=60")
    time.sleep(0.5)

    service.revoke(service.tokens["revoked"])
    revoked_at = time.monotonic()
    data = read_until(sock, CHUNKED_END, 10)
    ended_after = time.monotonic() - revoked_at
    sock.close()
    again = httpx.get(
        f"{service.base}/v1/events/stream",
        headers={"Authorization": f"Bearer {service.tokens['revoked']}"},
        timeout=10,
    )
    print(f"\nrevoked token's stream ended {ended_after:.3f} s after the revocation")

    assert data.endswith(CHUNKED_END)
    assert b"no longer" in data
    assert ended_after < 1.0
    assert again.status_code == 401


# --- finding 3: far-future min_position waits ------------------------------------------------


def _wait_far(client: httpx.Client, token: str) -> tuple[int, float, str]:
    started = time.perf_counter()
    answer = client.get(
        "/v1/projects",
        params={"min_position": 999_999_999},
        headers={"Authorization": f"Bearer {token}"},
    )
    return answer.status_code, time.perf_counter() - started, answer.headers.get("retry-after", "")


def test_a_hundred_far_future_waits_cost_no_thread_and_end_on_time(service: Service) -> None:
    # The 50 waits of one principal with no project, and 50 more spread over ten
    # principals (within each one's share): every one is an open request waiting 5 s.
    who = ["loner"] * 50 + [f"waiter{n % 10}" for n in range(50)]
    limits = httpx.Limits(max_connections=len(who), max_keepalive_connections=len(who))
    with (
        httpx.Client(base_url=service.base, limits=limits, timeout=PATIENCE) as client,
        _bystander(service) as others,
        ThreadPoolExecutor(len(who)) as pool,
    ):
        answers = list(pool.map(lambda name: _wait_far(client, service.tokens[name]), who))
    figures = others.figures()
    alone, spread = answers[:50], answers[50:]
    waited = [seconds for status, seconds, _ in answers if status == 503]
    refused = [seconds for status, seconds, _ in alone if status == 429]
    print(
        f"\n100 far-future waits: other users {figures}; 503 after"
        f" {min(waited):.2f}-{max(waited):.2f} s; 429 after at most {max(refused):.3f} s"
    )

    _assert_answered_in_time(figures)
    settings = Settings()
    assert (
        sorted(status for status, _, _ in alone)
        == [429] * (50 - settings.waits_per_principal) + [503] * settings.waits_per_principal
    )
    assert [status for status, _, _ in spread] == [503] * 50
    assert all(retry == "1" for _, _, retry in answers)
    assert min(waited) >= 5.0
    assert max(waited) <= 5.0 + 1.5
    assert max(refused) < 1.0


# --- finding 2: stopping with streams open ---------------------------------------------------


def test_sigterm_with_streams_open_ends_the_process_within_the_shutdown_timeout(
    service: Service, tmp_path: Path
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve = _serve(service.url, port, tmp_path / "serve.log")
    try:
        wait_until(lambda: _ready(base), PATIENCE, "the second server")
        other = Service(service.url, base, port, tmp_path / "serve.log", service.tokens, "", "")
        head = _write(service)  # streams that follow the head (a stuck one waits for its client)
        streams = [_open_stream(other, "auditor", f"?after={head}") for _ in range(20)]
        children = children_of(serve.pid)
        signalled = time.monotonic()
        serve.send_signal(signal.SIGTERM)
        code = serve.wait(PATIENCE)
        exited_after = time.monotonic() - signalled
        ends = [read_to_end(sock, 5) for sock in streams]
    finally:
        stop(serve)
    print(f"\nSIGTERM with 20 streams open: exited after {exited_after:.2f} s, code {code}")

    assert code == 0
    assert exited_after < SHUTDOWN_TIMEOUT
    assert children
    assert not any(alive(pid) for pid in children)
    assert all(closed and data.endswith(CHUNKED_END) for data, closed in ends)
    assert server_errors(tmp_path / "serve.log") == []


def test_the_views_pool_ends_transactions_left_idle(service: Service) -> None:
    settings = Settings(pool_size=1, pool_max_overflow=0, idle_in_transaction_timeout=1)
    pool = open_pool(service.url, settings)
    try:
        with pool.connection() as conn:
            shown = conn.execute("SHOW idle_in_transaction_session_timeout").fetchone()
            conn.execute("SELECT 1")
            time.sleep(1.5)  # idle inside the transaction the SELECT began
            ended = (psycopg.errors.IdleInTransactionSessionTimeout, psycopg.OperationalError)
            with pytest.raises(ended):
                conn.execute("SELECT 1")
    finally:
        pool.close()

    assert shown == ("1s",)
