"""Check 1: concurrent commands with the same If-Match — exactly one wins, the rest get 412."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import client, duplicate_versions, ok, stored_events
from tests.reliability.sizes import Sizes


@pytest.mark.check(1)
def test_same_if_match_from_ten_clients_gives_one_success_and_nine_412_every_round(
    served: Served, sizes: Sizes, figure: Figure
) -> None:
    n, rounds = sizes.competing_clients, sizes.competing_rounds
    manager = client(served.base, served.manager_token)
    pid = ok(manager.post("/v1/projects", json={"name": "Contested"}))["project_id"]
    phases = f"/v1/projects/{pid}/phases"
    clients = [client(served.base, served.manager_token) for _ in range(n)]
    for c in clients:  # open every connection now, so the round's requests leave together
        c.get("/health")

    tallies: list[dict[int, int]] = []
    with ThreadPoolExecutor(n) as pool:
        for round_ in range(rounds):
            etag = manager.get(f"/v1/projects/{pid}").headers["ETag"]
            barrier = threading.Barrier(n)

            def attempt(
                i: int,
                round_: int = round_,
                etag: str = etag,
                barrier: threading.Barrier = barrier,
            ) -> httpx.Response:
                barrier.wait()
                return clients[i].post(
                    phases, json={"name": f"r{round_}-c{i}"}, headers={"If-Match": etag}
                )

            tally: dict[int, int] = {}
            for response in pool.map(attempt, range(n)):
                tally[response.status_code] = tally.get(response.status_code, 0) + 1
            tallies.append(tally)

    final = ok(manager.get(f"/v1/projects/{pid}"))
    events = [e for e in stored_events(served.url) if str(e.stream) == pid]
    good = sum(1 for t in tallies if t == {201: 1, 412: n - 1})
    errors = sum(count for t in tallies for status, count in t.items() if status >= 500)
    duplicates = duplicate_versions(served.url)
    figure(
        f"{good}/{rounds} rounds of {n} gave exactly 1×201 + {n - 1}×412; {errors} 5xx; "
        f"{duplicates} duplicate (stream, version); other rounds: "
        f"{[t for t in tallies if t != {201: 1, 412: n - 1}][:5]}"
    )

    assert good == rounds
    assert errors == 0
    assert duplicates == 0
    # One event per round, on top of the project's creation, and each stored once.
    assert final["version"] == 1 + rounds
    assert sorted(e.version for e in events) == list(range(1, rounds + 2))
    assert len(final["phases"]) == rounds
