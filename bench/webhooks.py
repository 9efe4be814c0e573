"""Webhook delivery figures (issue 16; a measurement, not a test), against same-run baselines.

1. The maximum write rate: `WRITERS` threads sending one-event commands through the ledger,
   closed loop, for `--seconds`.
2. Delivery lag: at half that rate (open loop), the time from a command's answer (its commit)
   to the receiver's 2xx for that event; p50 and p99. The receiver is a threaded `http.server`
   on 127.0.0.1 in this process, like the deliverer (one process: they share its GIL).
3. Deliveries per second at saturation: a backlog of `--backlog` events delivered to one
   subscription from a standing start, against a raw loop of `http.client` POSTs of the same
   bodies to the same receiver (a new connection per POST, as the deliverer makes, and with
   no signing, no log, no database): the ratio is what the guarantees cost.

Usage (on a fresh, empty database of your own; drop it after):

    psql -h 127.0.0.1 -U postgres -c 'CREATE DATABASE webhooks_bench'
    .venv/bin/python -m bench.webhooks postgresql://postgres@127.0.0.1:5432/webhooks_bench
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from uuid import UUID, uuid4

from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from api.webhooks.deliverer import body_of
from application.access import GlobalRole, Principal
from domain.events import ProjectEvent
from domain.roles import ProjectRole

WRITERS = 4
ADMIN = Principal("bench-admin", GlobalRole.ADMIN)


class Receiver:
    """Answers 204 to every POST and notes when each position arrived."""

    def __init__(self) -> None:
        self.arrived: dict[int, float] = {}
        self.count = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                key = self.headers.get("idempotency-key", "")
                with receiver.lock:
                    receiver.count += 1
                    if key.isdigit():
                        receiver.arrived.setdefault(int(key), time.monotonic())
                del body
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


def _command(container: Container, project_id: UUID, manager: str) -> tuple[int, float]:
    ledger = container.ledger
    admitted = ledger.admit(project_id, Principal(manager), ProjectRole.MANAGER, writes=True)
    result = ledger.add_phase(admitted, f"Phase {uuid4().hex}")
    return int(result.position or 0), time.monotonic()


def _projects(container: Container, count: int) -> list[tuple[UUID, str]]:
    made = []
    for _ in range(count):
        manager = f"bench-{uuid4().hex[:8]}"
        created = container.ledger.create_project(Principal(manager), name="Bench")
        assert created.project_id is not None
        made.append((created.project_id, manager))
    return made


def max_rate(container: Container, seconds: float) -> float:
    projects = _projects(container, WRITERS)
    done = [0] * WRITERS
    stop = time.monotonic() + seconds

    def write(i: int) -> None:
        while time.monotonic() < stop:
            _command(container, *projects[i])
            done[i] += 1

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / seconds


def lag(container: Container, receiver: Receiver, rate: float, seconds: float) -> list[float]:
    """Seconds from each command's answer to its delivery, at `rate` commands/s (open loop)."""
    projects = _projects(container, WRITERS)
    committed: dict[int, float] = {}
    lock = threading.Lock()
    interval = WRITERS / rate
    start = time.monotonic()

    def write(i: int) -> None:
        due = start + i * interval / WRITERS
        while due < start + seconds:
            pause = due - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            position, at = _command(container, *projects[i])
            with lock:
                committed[position] = at
            due += interval

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not set(committed) <= set(receiver.arrived):
        time.sleep(0.05)
    return [receiver.arrived[p] - at for p, at in committed.items() if p in receiver.arrived]


def saturation(container: Container, receiver: Receiver, backlog: int) -> tuple[float, float]:
    """Deliveries/s of one subscription working off `backlog` events, and of a raw POST loop."""
    container.deliverer.stop()
    (project_id, manager) = _projects(container, 1)[0]
    sub, _ = container.webhooks.create(ADMIN, project_id, receiver.url, [], True)
    positions = [_command(container, project_id, manager)[0] for _ in range(backlog)]
    bodies = [
        body_of(e, p)
        for e, p in container.ledger.feed(sub.position, backlog + 10)
        if isinstance(e, ProjectEvent) and e.originator_id == project_id
    ]
    started = time.monotonic()
    container.deliverer.start()
    while not set(positions) <= set(receiver.arrived):
        time.sleep(0.01)
    delivered = backlog / (time.monotonic() - started)

    started = time.monotonic()
    for n, body in enumerate(bodies):
        conn = http.client.HTTPConnection("127.0.0.1", receiver.port, timeout=10)
        conn.request(
            "POST", "/hook", body=body, headers={"Content-Type": "application/json", "n": str(n)}
        )
        conn.getresponse().read()
        conn.close()
    raw = len(bodies) / (time.monotonic() - started)
    return delivered, raw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("database_url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backlog", type=int, default=2000)
    args = parser.parse_args()
    settings = Settings(pool_size=8, pool_max_overflow=4, webhook_allow_private=True)
    upgrade(args.database_url, settings)
    container = bootstrap(settings, args.database_url)
    receiver = Receiver()
    try:
        rate = max_rate(container, args.seconds)
        everything, _ = container.webhooks.create(ADMIN, None, receiver.url, [], True)
        container.deliverer.start()
        lags = sorted(lag(container, receiver, rate / 2, args.seconds))
        p50 = statistics.median(lags) * 1000
        p99 = lags[min(len(lags) - 1, int(len(lags) * 0.99))] * 1000
        container.deliverer.stop()
        container.webhooks.change(ADMIN, everything.id, active=False)  # one subscription now
        delivered, raw = saturation(container, receiver, args.backlog)
    finally:
        container.close()
        receiver.server.shutdown()
    print(f"max write rate ({WRITERS} writers, closed loop): {rate:.0f} commands/s")
    print(
        f"delivery lag at {rate / 2:.0f} commands/s, commit -> receiver 2xx "
        f"({len(lags)} events): p50 {p50:.1f} ms, p99 {p99:.1f} ms"
    )
    print(
        f"saturation, {args.backlog} events, one subscription: {delivered:.0f} deliveries/s; "
        f"raw http.client POST loop: {raw:.0f} POST/s; ratio {delivered / raw:.2f}"
    )


if __name__ == "__main__":
    main()
