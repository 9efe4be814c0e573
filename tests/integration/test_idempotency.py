"""Idempotency-Key: a retried command replays its first answer and writes nothing (SPEC §3)."""

from __future__ import annotations

import threading
from uuid import uuid4

import httpx
from fastapi.testclient import TestClient

from api.bootstrap import Container
from tests.integration.conftest import User, Users


def key() -> dict[str, str]:
    return {"Idempotency-Key": f"retry-{uuid4()}"}


def new_project(user: User) -> str:
    pid: str = user.post("/v1/projects", {"name": "Idempotent"}).json()["project_id"]
    return pid


def phases(user: User, pid: str) -> list[str]:
    return [p["name"] for p in user.get(f"/v1/projects/{pid}").json()["phases"]]


def head(container: Container) -> int:
    return container.ledger.recorder.max_notification_id() or 0


def test_a_retry_with_the_same_key_and_body_replays_the_answer_and_writes_nothing(
    users: Users, container: Container
) -> None:
    alice = users("alice")
    pid = new_project(alice)
    headers = key()

    first = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)
    written = head(container)
    again = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["ETag"] == first.headers["ETag"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert head(container) == written
    assert phases(alice, pid) == ["Build"]


def test_a_new_project_is_created_once_under_one_key(users: Users) -> None:
    alice = users("alice")
    headers = key()

    first = alice.post("/v1/projects", {"name": "Once"}, headers=headers)
    again = alice.post("/v1/projects", {"name": "Once"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json()["project_id"] == first.json()["project_id"]
    assert [p["name"] for p in alice.get("/v1/projects").json()].count("Once") <= 1


def test_the_same_key_with_another_body_is_422_and_writes_nothing(
    users: Users, container: Container
) -> None:
    alice = users("alice")
    pid = new_project(alice)
    headers = key()
    alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)
    written = head(container)

    other = alice.post(f"/v1/projects/{pid}/phases", {"name": "Test"}, headers=headers)

    assert other.status_code == 422
    assert other.headers["content-type"] == "application/problem+json"
    assert "another request" in other.json()["detail"]
    assert head(container) == written
    assert phases(alice, pid) == ["Build"]


def test_the_same_body_in_another_order_or_spacing_is_the_same_request(users: Users) -> None:
    alice = users("alice")
    pid = new_project(alice)
    headers = {**key(), "Content-Type": "application/json"}
    url = f"/v1/projects/{pid}/deliverables"
    phase = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).json()["phase_id"]

    first = alice.request(
        "POST", url, content=f'{{"title": "Report", "phase_id": "{phase}"}}', headers=headers
    )
    again = alice.request(
        "POST", url, content=f'{{ "phase_id":"{phase}","title":"Report" }}', headers=headers
    )

    assert again.status_code == first.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_belong_to_their_principal(users: Users) -> None:
    alice, bob = users("alice"), users("bob")
    headers = key()

    mine = alice.post("/v1/projects", {"name": "Shared key"}, headers=headers)
    theirs = bob.post("/v1/projects", {"name": "Shared key"}, headers=headers)

    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["project_id"] != theirs.json()["project_id"]


def test_the_key_is_checked_before_if_match(users: Users) -> None:
    alice = users("alice")
    pid = new_project(alice)
    version = alice.get(f"/v1/projects/{pid}").json()["version"]
    headers = {**key(), "If-Match": f'"{version}"'}

    first = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)
    # The project moved on; the retry still gets the first answer, not 412.
    again = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()


def test_a_refusal_is_kept_and_replayed_too(users: Users) -> None:
    alice = users("alice")
    pid = new_project(alice)
    alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"})
    headers = key()

    first = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)
    alice.post(f"/v1/projects/{pid}/phases", {"name": "Other"})
    again = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)

    assert first.status_code == again.status_code == 409
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"


def test_twenty_concurrent_requests_with_one_key_write_one_set_of_events(
    users: Users, container: Container, client: TestClient
) -> None:
    alice = users("alice")
    pid = new_project(alice)
    headers = key()
    before = head(container)
    answers: list[httpx.Response] = []
    start = threading.Barrier(20)

    def send() -> None:
        start.wait()
        answers.append(alice.post(f"/v1/projects/{pid}/phases", {"name": "Once"}, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert [a.status_code for a in answers] == [201] * 20
    assert len({a.json()["phase_id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    assert phases(alice, pid) == ["Once"]
    assert head(container) == before + 1


def test_the_kept_answer_is_the_commands_result_written_with_its_events(
    users: Users, container: Container
) -> None:
    alice = users("alice")
    pid = new_project(alice)
    headers = key()

    answer = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}, headers=headers)

    kept = container.ledger.store.find_answer(alice.name, headers["Idempotency-Key"])
    assert kept is not None
    assert kept.result is not None
    assert kept.position == answer.json()["position"]
    assert str(kept.result.ids["phase_id"]) == answer.json()["phase_id"]
    assert kept.result.created == "phase_id"  # answered 201 again on a replay


def test_a_bad_token_with_a_key_is_401_and_keeps_nothing(
    users: Users, client: TestClient, container: Container
) -> None:
    alice = users("alice")
    headers = key()

    refused = client.post(
        "/v1/projects",
        json={"name": "Nope"},
        headers={**headers, "Authorization": "Bearer ml_not-a-token"},
    )
    accepted = alice.post("/v1/projects", {"name": "Yes"}, headers=headers)

    assert refused.status_code == 401
    assert accepted.status_code == 201
    assert "Idempotent-Replayed" not in accepted.headers


def test_a_malformed_key_is_422(users: Users) -> None:
    alice = users("alice")

    response = alice.post(
        "/v1/projects", {"name": "Bad key"}, headers={"Idempotency-Key": "x" * 256}
    )

    assert response.status_code == 422
