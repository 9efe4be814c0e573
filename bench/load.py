"""Clients of the real service: 16 threads sending the realistic command mix over HTTP.

`run` without a rate sends as fast as answers come back (the maximum rate); with one, it sends at a
fixed offered rate and measures each latency from the moment the command was due, so a server
that falls behind shows it (no coordinated omission).
"""

from __future__ import annotations

import http.client
import json
import random
import statistics
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx

from bench.context import Context
from bench.workload import MANAGER, REVIEWER, Command, CommandScript

CLIENTS = 16
PROJECTS = 8


@dataclass
class Outcome:
    """What a load run saw: per-command latencies (s), lags (s) and failures."""

    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    lags: list[float] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def fail(self, what: str) -> None:
        with self.lock:
            self.failures[what] = self.failures.get(what, 0) + 1


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99); the single value when there is only one."""
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def make_projects(ctx: Context, count: int = PROJECTS) -> list[tuple[str, str]]:
    """`count` new projects over HTTP, each with the reviewer and one phase: (id, phase id)."""
    service = ctx.serve()
    manager = ctx.headers(MANAGER)
    projects = []
    with httpx.Client(base_url=service.url, timeout=30) as client:
        for n in range(count):
            created = client.post("/v1/projects", json={"name": f"Load {n}"}, headers=manager)
            created.raise_for_status()
            pid = created.json()["project_id"]
            member = {"principal": REVIEWER, "role": "reviewer"}
            client.post(f"/v1/projects/{pid}/members", json=member, headers=manager)
            phase = client.post(
                f"/v1/projects/{pid}/phases", json={"name": "Build"}, headers=manager
            ).json()["phase_id"]
            projects.append((pid, phase))
    return projects


class _Http:
    """A keep-alive HTTP/1.1 connection from the standard library: about a fifth of httpx's
    CPU per request. The load generator shares this machine's two cores with the service, so
    what it spends is taken from what is measured."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )

    def request(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> tuple[int, Any]:
        """(status, parsed JSON body); reconnects once if the server closed the connection."""
        payload = None if body is None else json.dumps(body).encode()
        sent = {**headers, "Content-Type": "application/json"} if payload is not None else headers
        for attempt in (1, 2):
            try:
                self._connection.request(method, path, body=payload, headers=sent)
                response = self._connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self._connection.close()
                if attempt == 2:
                    raise
        answer = json.loads(data) if data else None
        return response.status, answer

    def close(self) -> None:
        self._connection.close()


def _client(
    ctx: Context,
    project: tuple[str, str],
    seed: int,
    clock: _Clock,
    outcome: Outcome,
    interval: float | None,
    probe_every: int,
) -> None:
    headers = {False: ctx.headers(MANAGER), True: ctx.headers(REVIEWER)}
    rng = random.Random(seed)
    script: Generator[Command, Any, None] = CommandScript(*project, rng).commands()
    command = next(script)
    latencies: list[float] = []
    lags: list[float] = []
    sent = 0
    client = _Http(ctx.serve().url)
    # Every client is set up before the clock starts: setting up is not the service's time.
    clock.ready.wait()
    # Spread the clients' first sends over one interval, so an offered rate is smooth.
    due = clock.started + (rng.random() * interval if interval else 0.0)
    try:
        while True:
            if interval is not None:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            start = due if interval is not None else time.perf_counter()
            if start >= clock.deadline:
                break
            method, path, body, as_reviewer = command
            try:
                status, answer = client.request(method, path, body, headers[as_reviewer])
            except (OSError, http.client.HTTPException) as error:
                outcome.fail(type(error).__name__)
                status, answer = 0, None
            answered = time.perf_counter()
            if 0 < status < 300:
                latencies.append(answered - start)
                sent += 1
                if probe_every and sent % probe_every == 0 and answer.get("position") is not None:
                    lags.append(_read_own_write(client, project[0], answer["position"], headers))
                command = script.send(answer)
            else:
                if status:
                    outcome.fail(f"HTTP {status}")
                # The script needs the ids of what it made: start a fresh deliverable's life.
                script = CommandScript(*project, rng).commands()
                command = next(script)
            if interval is not None:
                due += interval
    finally:
        client.close()
    with outcome.lock:
        outcome.latencies.extend(latencies)
        outcome.lags.extend(lags)


def _read_own_write(
    client: _Http, project_id: str, position: int, headers: dict[bool, dict[str, str]]
) -> float:
    """Seconds from a command's answer to its effect being readable in the schedule view."""
    answered = time.perf_counter()
    status, _ = client.request(
        "GET", f"/v1/projects/{project_id}/schedule?min_position={position}", None, headers[False]
    )
    if status != 200:
        raise RuntimeError(f"reading the schedule answered {status}")
    return time.perf_counter() - answered


@dataclass
class _Clock:
    """When a run starts (once every client is ready) and when it ends."""

    seconds: float
    ready: threading.Event = field(default_factory=threading.Event)
    started: float = 0.0
    deadline: float = 0.0

    def start(self) -> None:
        self.started = time.perf_counter()
        self.deadline = self.started + self.seconds
        self.ready.set()


def run(
    ctx: Context,
    projects: list[tuple[str, str]],
    seconds: float,
    *,
    rate: float | None = None,
    probe_every: int = 0,
    clients: int = CLIENTS,
) -> Outcome:
    """Run `clients` threads over `projects` for `seconds`: closed loop, or at `rate` commands/s.

    With `probe_every` = n, every n-th successful command of each client is followed by a read
    of the schedule view at the command's position, timed into `Outcome.lags`.
    """
    outcome = Outcome()
    interval = None if rate is None else clients / rate
    clock = _Clock(seconds)
    threads = [
        threading.Thread(
            target=_client,
            args=(ctx, projects[i % len(projects)], i, clock, outcome, interval, probe_every),
            daemon=True,
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.1)  # the clients get ready (nothing is sent before the clock starts)
    clock.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - clock.started
    return outcome
