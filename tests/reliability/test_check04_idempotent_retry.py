"""Check 4: one Idempotency-Key sent many times, in sequence and at once — one set of events."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import client, ok, stored_events
from tests.reliability.sizes import Sizes
from tests.reliability.workload import marker

REPLAYED = "Idempotent-Replayed"


def answer(response: httpx.Response) -> tuple[int, bytes, str | None]:
    """What a client compares between two answers: status, body and where it points."""
    return response.status_code, response.content, response.headers.get("Location")


@pytest.mark.check(4)
def test_a_key_sent_again_in_sequence_and_at_once_writes_one_set_of_events(
    served: Served, sizes: Sizes, figure: Figure
) -> None:
    manager = client(served.base, served.manager_token)
    pid = ok(manager.post("/v1/projects", json={"name": "Retried"}))["project_id"]
    base = f"/v1/projects/{pid}"
    phase = ok(manager.post(f"{base}/phases", json={"name": "Only"}))["phase_id"]

    # In sequence: a client that never saw its answer and keeps sending the same request.
    sequential_mark = marker()
    body = {"title": sequential_mark, "phase_id": phase, "description": sequential_mark}
    key = {"Idempotency-Key": f"seq-{sequential_mark}"}
    in_sequence = [
        manager.post(f"{base}/deliverables", json=body, headers=key)
        for _ in range(sizes.sequential_retries)
    ]

    # At once: the same key from many connections released together.
    n = sizes.concurrent_retries
    concurrent_mark = marker()
    body_at_once = {"title": concurrent_mark, "phase_id": phase}
    key_at_once = {"Idempotency-Key": f"once-{concurrent_mark}"}
    clients = [client(served.base, served.manager_token) for _ in range(n)]
    for c in clients:
        c.get("/health")
    barrier = threading.Barrier(n)

    def send(i: int) -> httpx.Response:
        barrier.wait()
        return clients[i].post(f"{base}/deliverables", json=body_at_once, headers=key_at_once)

    with ThreadPoolExecutor(n) as pool:
        at_once = list(pool.map(send, range(n)))

    events = [e for e in stored_events(served.url) if str(e.stream) == pid]
    carrying = {
        m: [e.position for e in events if m.encode() in e.markers]
        for m in (sequential_mark, concurrent_mark)
    }
    final = ok(manager.get(base))
    distinct = {
        "in sequence": len({answer(r) for r in in_sequence}),
        "at once": len({answer(r) for r in at_once}),
    }
    replays = sum(1 for r in [*in_sequence, *at_once] if r.headers.get(REPLAYED) == "true")
    figure(
        f"{len(in_sequence)} sequential + {len(at_once)} concurrent sends: distinct answers "
        f"{distinct}; statuses {sorted({r.status_code for r in [*in_sequence, *at_once]})}; "
        f"events carrying each body {[len(p) for p in carrying.values()]}; "
        f"{replays} answers marked replayed"
    )

    assert in_sequence[0].status_code == 201
    assert at_once[0].status_code == 201
    assert distinct == {"in sequence": 1, "at once": 1}
    # Exactly one event for each key (DeliverableDefined), and nothing else was written.
    assert [len(p) for p in carrying.values()] == [1, 1]
    assert final["version"] == 4
    assert sorted(d["title"] for d in final["deliverables"]) == sorted(
        [sequential_mark, concurrent_mark]
    )
    assert replays == len(in_sequence) + len(at_once) - 2
