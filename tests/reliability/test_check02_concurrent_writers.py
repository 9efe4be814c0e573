"""Check 2: concurrent writers on one project without If-Match — all succeed, none is lost."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx
import pytest

from tests.reliability.conftest import Figure, Served
from tests.reliability.harness import (
    cli_env,
    client,
    duplicate_versions,
    ok,
    rebuild_differences,
    stored_events,
    wait_for_views,
)
from tests.reliability.sizes import Sizes


@pytest.mark.check(2)
def test_writers_without_if_match_all_succeed_on_fresh_state_and_nothing_is_lost(
    served: Served, sizes: Sizes, figure: Figure, tmp_path: Path
) -> None:
    writers, each = sizes.writers, sizes.commands_per_writer
    manager = client(served.base, served.manager_token)
    pid = ok(manager.post("/v1/projects", json={"name": "Crowded"}))["project_id"]
    base = f"/v1/projects/{pid}"
    phase = ok(manager.post(f"{base}/phases", json={"name": "Shared"}))["phase_id"]
    shared = ok(manager.post(f"{base}/deliverables", json={"title": "Shared", "phase_id": phase}))[
        "deliverable_id"
    ]
    barrier = threading.Barrier(writers)
    answers: list[list[httpx.Response]] = [[] for _ in range(writers)]

    def write(w: int) -> None:
        c = client(served.base, served.manager_token)
        c.get("/health")
        barrier.wait()
        for k in range(each):
            # Three commands that all touch the same project state: a phase (its names must
            # stay unique), a deliverable in the shared phase, and a retitle of one
            # deliverable that every writer edits.
            match k % 3:
                case 0:
                    r = c.post(f"{base}/phases", json={"name": f"w{w}-k{k}"})
                case 1:
                    body = {"title": f"w{w}-k{k}", "phase_id": phase}
                    r = c.post(f"{base}/deliverables", json=body)
                case _:
                    r = c.patch(f"{base}/deliverables/{shared}", json={"title": f"w{w}-k{k}"})
            answers[w].append(r)

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    flat = [r for rs in answers for r in rs]
    tally: dict[int, int] = {}
    for r in flat:
        tally[r.status_code] = tally.get(r.status_code, 0) + 1
    final = ok(manager.get(f"/v1/projects/{pid}"))
    events = [e for e in stored_events(served.url) if str(e.stream) == pid]
    sent_phases = {f"w{w}-k{k}" for w in range(writers) for k in range(0, each, 3)}
    sent_deliverables = {f"w{w}-k{k}" for w in range(writers) for k in range(1, each, 3)}
    phases = [p["name"] for p in final["phases"]]
    deliverables = [d["title"] for d in final["deliverables"] if d["id"] != shared]
    wait_for_views(served.url)
    differences = rebuild_differences(cli_env(served.url, tmp_path), served.url)
    figure(
        f"{writers}×{each} commands: statuses {tally}; project version {final['version']} "
        f"(expected {3 + writers * each}); views vs rebuild: {len(differences)} differences"
    )

    assert all(r.status_code in (200, 201) for r in flat)
    # None lost: every command is one event, versions are contiguous, every name is there once.
    assert final["version"] == 3 + writers * each
    assert sorted(e.version for e in events) == list(range(1, 4 + writers * each))
    assert duplicate_versions(served.url) == 0
    assert sorted(phases) == sorted(["Shared", *sent_phases])
    assert sorted(deliverables) == sorted(sent_deliverables)
    assert differences == []
