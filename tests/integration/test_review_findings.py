"""Regression tests from a hostile review of the application layer (9df9dd4..ec050b5): each
reproduced a defect, now fixed; the docstrings say what each defect was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from uuid import UUID, uuid4

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.bootstrap import Container, bootstrap
from api.settings import Settings
from application.access import GlobalRole
from tests.integration.conftest import SettableClock, User, Users


def _project(alice: User) -> tuple[str, str, str]:
    """A project of alice's with a phase and a deliverable: (pid, phase, deliverable)."""
    pid = alice.post("/v1/projects", {"name": "Review"}).json()["project_id"]
    phase = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).json()["phase_id"]
    did = alice.post(
        f"/v1/projects/{pid}/deliverables", {"title": "Spec", "phase_id": phase}
    ).json()["deliverable_id"]
    return pid, phase, did


def _answer(response: httpx.Response) -> tuple[int, dict[str, str], bytes]:
    """What a replay must give back byte for byte: status, answer headers, body."""
    kept = ("content-type", "etag", "location")
    return response.status_code, {h: response.headers.get(h, "") for h in kept}, response.content


@pytest.fixture
def restarted(
    upgraded_database: str, settings: Settings, clock: SettableClock, container: Container
) -> Iterator[TestClient]:
    """The same service started again on the same database: a new process, nothing in memory."""
    again = bootstrap(settings, upgraded_database, clock=clock)
    try:
        with TestClient(create_app(again), raise_server_exceptions=False) as client:
            yield client
    finally:
        again.close()


def test_review_a_replay_is_byte_for_byte_the_first_answer(
    users: Users, restarted: TestClient
) -> None:
    """WAS A DEFECT (idempotency, SPEC §3 "returns the original response"): the kept result's `ids`
    go through a jsonb column, which reorders object keys (shorter first), and the replay is
    rendered from that dict: the first answer of add_criterion / record_evidence names
    deliverable_id then criterion_id, every replay criterion_id then deliverable_id. 663ef07 kept
    the rendered bytes and replayed them byte for byte."""
    alice = users("alice")
    pid, _, did = _project(alice)
    url = f"/v1/projects/{pid}/deliverables/{did}/criteria"
    key = {"Idempotency-Key": f"review-{uuid4()}"}

    first = alice.post(url, {"text": "complete"}, headers=key)
    again = alice.post(url, {"text": "complete"}, headers=key)
    after_restart = restarted.post(url, json={"text": "complete"}, headers=alice.headers(key))

    assert first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert _answer(again) == _answer(first)
    assert _answer(after_restart) == _answer(first)


def test_review_record_evidence_replays_its_first_answer_byte_for_byte(users: Users) -> None:
    """The same finding on a 200 answer (record_evidence names deliverable_id, criterion_id)."""
    alice = users("alice")
    pid, _, did = _project(alice)
    cid = alice.post(f"/v1/projects/{pid}/deliverables/{did}/criteria", {"text": "c"}).json()[
        "criterion_id"
    ]
    url = f"/v1/projects/{pid}/deliverables/{did}/criteria/{cid}/evidence"
    key = {"Idempotency-Key": f"review-{uuid4()}"}

    first = alice.post(url, {"evidence": "https://example.org/e"}, headers=key)
    again = alice.post(url, {"evidence": "https://example.org/e"}, headers=key)

    assert first.status_code == 200
    assert _answer(again) == _answer(first)


def test_review_a_malformed_if_match_is_judged_after_who_may_send_the_command(
    users: Users,
) -> None:
    """WAS A DEFECT (behaviour change, SPEC §2/§3): If-Match was parsed by a sub-dependency of the
    route's admission, so a malformed If-Match answers 422 before the caller is let in: a
    stranger got 404 and an auditor, an admin without a role or a viewer got 403 at 663ef07;
    all get 422 now (and that 422 is what an Idempotency-Key keeps)."""
    alice = users("alice")
    pid, _, _ = _project(alice)
    viewer = users("viewer")
    alice.post(f"/v1/projects/{pid}/members", {"principal": viewer.name, "role": "viewer"})
    callers = {
        "stranger": (users("mallory"), 404),
        "auditor": (users("audrey", GlobalRole.AUDITOR), 403),
        "admin": (users("root", GlobalRole.ADMIN), 403),
        "viewer": (viewer, 403),
    }
    headers = {"If-Match": "abc"}

    got = {
        name: caller.post(f"/v1/projects/{pid}/phases", {"name": "X"}, headers=headers).status_code
        for name, (caller, _) in callers.items()
    }

    assert got == {name: status for name, (_, status) in callers.items()}


def test_review_a_command_never_blocks_the_event_loop(users: Users, container: Container) -> None:
    """WAS A DEFECT (performance): the command routes' admission ran `Ledger.admit_cached` in the
    event loop (api/access.py `_OnProject.admit`), and it takes the project's striped load lock
    (`load_cached`), which another request's `load` holds across a store round trip (and which
    also deep-copies the project in the loop). While it waits, the whole process answers
    nothing: here a store read of 1 s holding that lock stalls an unrelated GET /health for 1 s.
    At 663ef07 the admission only peeked at the cache and every lock was taken in a worker
    thread."""
    alice = users("alice")
    pid, _, _ = _project(alice)  # cached in this process now
    lock = container.ledger._load_lock(UUID(pid))
    held = threading.Event()

    def slow_store_read() -> None:  # what `load` does around `repository.get`
        with lock:
            held.set()
            time.sleep(1.0)

    reader = threading.Thread(target=slow_store_read)
    reader.start()
    held.wait()
    command = threading.Thread(
        target=lambda: alice.post(f"/v1/projects/{pid}/phases", {"name": "Blocked"})
    )
    command.start()
    time.sleep(0.1)  # the command's admission is waiting for the lock now
    started = time.perf_counter()
    alice.client.get("/health")
    waited = time.perf_counter() - started
    reader.join()
    command.join()

    assert waited < 0.3, f"GET /health waited {waited:.2f} s behind a command's admission"
