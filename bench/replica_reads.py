"""What a read costs through a streaming replica, against the same read on the primary in the
same run (a measurement, not a test).

Starts a primary and a streaming replica of it on this machine (the embedded wheel's binaries,
as `tests/integration/replication.py` does), one process keeping the views, and two API apps
that keep none: one reads from the primary only, one from the replica (`MILESTONES_READ_URLS`).
For each app, `ROUNDS` times: a command, then the schedule with `?min_position` of that command
(read-your-writes: on the replica the wait polls its replayed positions), then the schedule
without it. Prints medians and 95th percentiles and the ratios replica ÷ primary. Usage:

    .venv/bin/python -m bench.replica_reads [ROUNDS]
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from tempfile import TemporaryDirectory

from fastapi.testclient import TestClient

from adapters.postgres.embedded import ensure_database
from adapters.signing import load_or_create_key
from api.app import create_app
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from application.access import GlobalRole

# The pair of servers is the tests' (one helper, so the two never drift apart).
from tests.integration.replication import streaming_pair

ROUNDS = 300


@contextmanager
def _app(settings: Settings, url: str) -> Iterator[tuple[Container, TestClient]]:
    container = bootstrap(settings, url)
    try:
        with TestClient(create_app(container, run_projections=False)) as client:
            yield container, client
    finally:
        container.close()


def _rounds(client: TestClient, auth: dict[str, str], rounds: int) -> dict[str, list[float]]:
    pid = client.post("/v1/projects", json={"name": "Bench"}, headers=auth).json()["project_id"]
    schedule = f"/v1/projects/{pid}/schedule"
    timings: dict[str, list[float]] = {"min_position": [], "plain": []}
    for number in range(rounds):
        added = client.post(f"/v1/projects/{pid}/phases", json={"name": f"P{number}"}, headers=auth)
        position = added.json()["position"]
        started = time.perf_counter()
        waited = client.get(schedule, params={"min_position": position}, headers=auth)
        timings["min_position"].append(time.perf_counter() - started)
        assert waited.status_code == 200, waited.text
        started = time.perf_counter()
        plain = client.get(schedule, headers=auth)
        timings["plain"].append(time.perf_counter() - started)
        assert plain.status_code == 200, plain.text
    return timings


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main(rounds: int = ROUNDS) -> None:
    with streaming_pair() as pair, TemporaryDirectory() as keys, ExitStack() as stack:
        url = ensure_database(pair.primary.url(), "milestones")
        key = Path(keys) / "signing-key"
        load_or_create_key(key)
        base = Settings(signing_key=key, allow_unsafe_durability=True)
        upgrade(url, base)
        views = stack.enter_context(_app(base, url))[0]
        views.runner.start()  # the views are kept here, not in either app measured
        stack.callback(views.runner.stop)
        views.principals.add("bench", GlobalRole.MEMBER)
        auth = {"Authorization": f"Bearer {views.principals.create_token('bench')}"}
        pair.wait_replayed("milestones")
        primary = stack.enter_context(_app(base, url))
        on_replica = Settings(
            signing_key=key, allow_unsafe_durability=True, read_urls=pair.replica.url("milestones")
        )
        replica = stack.enter_context(_app(on_replica, url))
        (watched,) = replica[0].reading.replicas.all
        while not watched.health.in_rotation:
            time.sleep(0.05)
        measured = {
            "primary": _rounds(primary[1], auth, rounds),
            "replica": _rounds(replica[1], auth, rounds),
        }
        print(f"{rounds} rounds; replica reads {watched.reads}, failovers {watched.failovers}")
        print(f"{'read':>14} {'where':>8} {'median ms':>10} {'p95 ms':>8} {'÷ primary':>10}")
        for kind in ("min_position", "plain"):
            base_median = statistics.median(measured["primary"][kind])
            for where in ("primary", "replica"):
                values = measured[where][kind]
                median = statistics.median(values)
                print(
                    f"{kind:>14} {where:>8} {median * 1000:>10.2f} {_p95(values) * 1000:>8.2f}"
                    f" {median / base_median:>10.2f}"
                )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else ROUNDS)
