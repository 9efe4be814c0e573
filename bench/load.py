"""Clients of the real service: 16 threads sending the realistic command mix over HTTP.

`closed_loop` sends as fast as answers come back (the maximum rate); `open_loop` sends at a
fixed offered rate and measures each latency from the moment the command was due, so a server
that falls behind shows it (no coordinated omission).
"""

from __future__ import annotations

import random
import statistics
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

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


def _client(
    ctx: Context,
    project: tuple[str, str],
    seed: int,
    deadline: float,
    outcome: Outcome,
    interval: float | None,
    probe: bool,
) -> None:
    headers = {False: ctx.headers(MANAGER), True: ctx.headers(REVIEWER)}
    rng = random.Random(seed)
    script: Generator[Command, Any, None] = CommandScript(*project, rng).commands()
    command = next(script)
    # Spread the clients' first sends over one interval, so an offered rate is smooth.
    due = time.perf_counter() + (rng.random() * interval if interval else 0.0)
    latencies: list[float] = []
    lags: list[float] = []
    with httpx.Client(base_url=ctx.serve().url, timeout=30) as client:
        while True:
            if interval is not None:
                pause = due - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            start = due if interval is not None else time.perf_counter()
            if start >= deadline:
                break
            method, path, body, as_reviewer = command
            try:
                response = client.request(method, path, json=body, headers=headers[as_reviewer])
            except httpx.HTTPError as error:
                outcome.fail(type(error).__name__)
                response = None
            answered = time.perf_counter()
            if response is not None and response.status_code < 300:
                latencies.append(answered - start)
                answer = response.json()
                if probe and answer.get("position") is not None:
                    lags.append(_read_own_write(client, project[0], answer["position"], headers))
                command = script.send(answer)
            else:
                if response is not None:
                    outcome.fail(f"HTTP {response.status_code}")
                # The script needs the ids of what it made: start a fresh deliverable's life.
                script = CommandScript(*project, rng).commands()
                command = next(script)
            if interval is not None:
                due += interval
    with outcome.lock:
        outcome.latencies.extend(latencies)
        outcome.lags.extend(lags)


def _read_own_write(
    client: httpx.Client, project_id: str, position: int, headers: dict[bool, dict[str, str]]
) -> float:
    """Seconds from a command's answer to its effect being readable in the schedule view."""
    answered = time.perf_counter()
    response = client.get(
        f"/v1/projects/{project_id}/schedule",
        params={"min_position": position},
        headers=headers[False],
    )
    response.raise_for_status()
    return time.perf_counter() - answered


def run(
    ctx: Context,
    projects: list[tuple[str, str]],
    seconds: float,
    *,
    rate: float | None = None,
    probe: bool = False,
    clients: int = CLIENTS,
) -> Outcome:
    """Run `clients` threads over `projects` for `seconds`: closed loop, or at `rate` commands/s."""
    outcome = Outcome()
    interval = None if rate is None else clients / rate
    started = time.perf_counter()
    deadline = started + seconds
    threads = [
        threading.Thread(
            target=_client,
            args=(ctx, projects[i % len(projects)], i, deadline, outcome, interval, probe),
            daemon=True,
        )
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome.seconds = time.perf_counter() - started
    return outcome
