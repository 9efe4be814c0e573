"""`write_floor` and `write_peer`: the service's write rate against what the stack allows.

Three HTTP servers on this machine and the same PostgreSQL server, driven the same way in one
run: the service (`milestones serve`), the framework floor (`bench.floor`: the same FastAPI
route and body model answered from memory) and the peer (`bench.peer`: one eventsourcing
Application, get → act → save). The load is `hey` (Go; Debian package `hey`): 16 closed-loop
clients, one per project, each `POST /v1/projects/{pid}/deliverables`, on 16 new projects
for every round. A Go load generator
costs the shared two cores far less than Python clients, so more of them is left to the server
measured. Rounds alternate the three servers, so a noisy neighbour hits all of them alike;
each ratio is taken within a round and the median round is reported.

Besides the maximum rates, each server also runs once at a quiet offered rate (25 commands/s,
`hey -q`), where p50 and p99 show what the server adds when nothing queues (issue 18's
low-load stall), beside two same-run baselines of that tail: a raw one-INSERT-per-COMMIT loop
at the same rate (the durable commit alone) and how late this machine wakes a sleeping thread.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
from psycopg.conninfo import conninfo_to_dict

from adapters.postgres.embedded import drop_database, ensure_database
from bench import baselines
from bench.context import REPO, Context, spare_port
from bench.load import CLIENTS, percentile
from bench.report import Metric, measured
from bench.workload import MANAGER

GOAL_FLOOR = 0.5
GOAL_PEER = 3.0
GOALS = {
    "write_floor": f"ratio ≥ {GOAL_FLOOR} (÷ the framework floor, same run, same server settings)",
    "write_peer": f"ratio ≥ {GOAL_PEER} (÷ the peer, same run)",
}
QUIET_RATE = 25.0  # commands/s offered in the quiet run (issue 18: "p99 ≤ 15 ms at 25/s")
SERVERS = ("service", "floor", "peer")


@dataclass
class Server:
    """A running HTTP server the load is sent to: its URL, headers and 16 projects' bodies."""

    name: str
    url: str
    headers: dict[str, str]
    targets: list[tuple[str, str]]  # (project id, phase id), one per client
    process: subprocess.Popen[bytes] | None = None

    def fresh(self) -> None:
        """New, empty projects for the next run: every round starts from the same size (a
        command's cost grows with its project in the service and, between snapshots, in the
        peer), so rounds differ by the machine's noise, not by what earlier rounds wrote."""
        if self.name == "floor":
            self.targets = [(str(uuid4()), str(uuid4())) for _ in self.targets]
        else:
            self.targets = _projects(self.url, self.headers, len(self.targets))

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


@dataclass
class Run:
    """What one hey run over every client saw."""

    seconds: float
    latencies: list[float]  # s, answers 2xx
    failures: int

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def summary(self) -> dict[str, Any]:
        return {
            "rate": round(self.rate, 1),
            "p50_ms": round(percentile(self.latencies, 50) * 1000, 2),
            "p99_ms": round(percentile(self.latencies, 99) * 1000, 2),
            "commands": len(self.latencies),
            "failures": self.failures,
        }


def available() -> str:
    """Why the stack metrics cannot run here ("" when they can)."""
    if shutil.which("hey") is None:
        return "`hey` is not installed (Debian/Ubuntu: apt-get install hey)"
    return ""


class WakeProbe:
    """How late this machine wakes a sleeping thread: a thread sleeps 5 ms again and again and
    records how much longer each sleep took. Under the quiet run it is the same-run baseline of
    scheduling noise: a server that is idle between requests pays it on every wake-up."""

    def __init__(self) -> None:
        self.late: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.perf_counter()
            time.sleep(0.005)
            self.late.append(time.perf_counter() - started - 0.005)

    def __enter__(self) -> WakeProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        return {
            "p50_ms": round(percentile(self.late, 50) * 1000, 2),
            "p99_ms": round(percentile(self.late, 99) * 1000, 2),
            "max_ms": round(max(self.late, default=0.0) * 1000, 2),
        }


def hey_path() -> str:
    """The `hey` binary (README: `apt-get install hey`), or an error saying how to get it."""
    found = shutil.which("hey")
    if found is None:
        raise RuntimeError("`hey` is not installed (Debian/Ubuntu: sudo apt-get install hey)")
    return found


def drive(server: Server, seconds: float, *, rate: float | None = None) -> Run:
    """One `hey -c 1` per client, each on its own project, all at once, for `seconds`.

    With `rate` (commands/s over all clients) each client is throttled to its share (`-q`).
    """
    hey = hey_path()
    processes = []
    for pid, phase in server.targets:
        command = [hey, "-z", f"{seconds}s", "-c", "1", "-m", "POST", "-o", "csv"]
        command += ["-T", "application/json", "-d", f'{{"title": "D", "phase_id": "{phase}"}}']
        for name, value in server.headers.items():
            command += ["-H", f"{name}: {value}"]
        if rate is not None:
            command += ["-q", f"{rate / len(server.targets):.3f}"]
        command.append(f"{server.url}/v1/projects/{pid}/deliverables")
        processes.append(subprocess.Popen(command, stdout=subprocess.PIPE))
    latencies: list[float] = []
    failures = 0
    for process in processes:
        out, _ = process.communicate()
        for row in csv.DictReader(io.StringIO(out.decode())):
            if row["status-code"].startswith("2"):
                latencies.append(float(row["response-time"]))
            else:
                failures += 1
    return Run(seconds, latencies, failures)


def _uvicorn(
    target: str, env: dict[str, str], *factory: str
) -> tuple[str, subprocess.Popen[bytes]]:
    """`target` served by uvicorn in its own process, with the service's server settings."""
    port = spare_port()
    command = [sys.executable, "-m", "uvicorn", target, *factory, "--host", "127.0.0.1"]
    command += ["--port", str(port), "--no-access-log", "--log-level", "warning"]
    if http := os.environ.get("BENCH_UVICORN_HTTP"):  # h11 or httptools: item 3's comparison
        command += ["--http", http]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=REPO)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{target} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return url, process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{target} did not answer /health within a minute")


def _projects(url: str, headers: dict[str, str], count: int) -> list[tuple[str, str]]:
    made = []
    with httpx.Client(base_url=url, timeout=30, headers=headers) as client:
        for n in range(count):
            created = client.post("/v1/projects", json={"name": f"Stack {n}"})
            created.raise_for_status()
            pid = created.json()["project_id"]
            phase = client.post(f"/v1/projects/{pid}/phases", json={"name": "Build"})
            phase.raise_for_status()
            made.append((pid, phase.json()["phase_id"]))
    return made


@contextmanager
def servers(ctx: Context) -> Iterator[dict[str, Server]]:
    """The service, the floor and the peer, running, each with 16 projects of its own."""
    service = ctx.serve()
    manager = ctx.headers(MANAGER)
    running: dict[str, Server] = {
        "service": Server("service", service.url, manager, _projects(service.url, manager, CLIENTS))
    }
    peer_db = f"{conninfo_to_dict(ctx.database_url)['dbname']}_peer"
    peer_url = ensure_database(ctx.database_url, peer_db)
    with tempfile.TemporaryDirectory(prefix="milestones-stack-") as home:
        try:
            url, process = _uvicorn("bench.floor:app", {"HOME": home})
            floor_targets = [(str(uuid4()), str(uuid4())) for _ in range(CLIENTS)]
            running["floor"] = Server("floor", url, {}, floor_targets, process)
            url, process = _uvicorn(
                "bench.peer:create_app", {"PEER_DATABASE_URL": peer_url}, "--factory"
            )
            running["peer"] = Server("peer", url, {}, _projects(url, {}, CLIENTS), process)
            yield running
        finally:
            for server in running.values():
                server.stop()
            drop_database(ctx.database_url, peer_db)


def measure(ctx: Context) -> tuple[Metric, Metric]:
    """(write_floor, write_peer): the service's rate ÷ the floor's and ÷ the peer's."""
    seconds = max(2.0, ctx.sizes.write_seconds / 2)
    rounds = 1 if ctx.sizes.quick else 3
    with servers(ctx) as running:
        for server in running.values():
            drive(server, min(2.0, seconds))  # warm up: pools, caches, snapshots
        results: list[dict[str, dict[str, Any]]] = []
        for _ in range(rounds):
            for server in running.values():
                server.fresh()
            results.append({name: drive(running[name], seconds).summary() for name in SERVERS})
        for server in running.values():
            server.fresh()
        quiet: dict[str, Any] = {}
        with WakeProbe() as probe:
            for name in SERVERS:
                quiet[name] = drive(
                    running[name], max(2.0, ctx.sizes.lag_seconds), rate=QUIET_RATE
                ).summary()
            raw = baselines.paced_commits(
                ctx.database_url, QUIET_RATE, max(2.0, ctx.sizes.lag_seconds)
            )
        quiet["raw_commit"] = {
            "p50_ms": round(percentile(raw, 50) * 1000, 2),
            "p99_ms": round(percentile(raw, 99) * 1000, 2),
        }
        quiet["wakeup_late"] = probe.summary()
        quiet["load_average"] = os.getloadavg()[0]
    floor_ratios = [r["service"]["rate"] / r["floor"]["rate"] for r in results]
    peer_ratios = [r["service"]["rate"] / r["peer"]["rate"] for r in results]
    middle = sorted(range(rounds), key=lambda i: floor_ratios[i])[rounds // 2]
    chosen = results[middle]
    common: dict[str, Any] = {
        "generator": "hey, 16 clients (-c 1 each) on 16 projects, POST a deliverable",
        "seconds": seconds,
        "rounds": results,
        "floor_ratios": [round(x, 3) for x in floor_ratios],
        "peer_ratios": [round(x, 3) for x in peer_ratios],
        "quiet": {"offered": QUIET_RATE, **quiet},
        "p99_ms": chosen["service"]["p99_ms"],
        "p50_ms": chosen["service"]["p50_ms"],
    }
    floor = measured(
        chosen["service"]["rate"],
        chosen["floor"]["rate"],
        unit="commands/s",
        goal=GOALS["write_floor"],
        met=chosen["service"]["rate"] / chosen["floor"]["rate"] >= GOAL_FLOOR,
        baseline_what="framework floor (bench.floor): same route and body, 201 from memory",
        baseline_p99_ms=chosen["floor"]["p99_ms"],
        **common,
    )
    peer = measured(
        chosen["service"]["rate"],
        chosen["peer"]["rate"],
        unit="commands/s",
        goal=GOALS["write_peer"],
        met=chosen["service"]["rate"] / chosen["peer"]["rate"] >= GOAL_PEER,
        baseline_what="peer (bench.peer): eventsourcing Application, get → act → save",
        baseline_p99_ms=chosen["peer"]["p99_ms"],
        rounds=results,
        peer_ratios=[round(x, 3) for x in peer_ratios],
        p99_ms=chosen["service"]["p99_ms"],
    )
    return floor, peer
