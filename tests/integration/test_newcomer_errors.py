"""The errors a newcomer meets say what is wrong and how to fix it (issue 19, item 6).

Each case was met by following the README from a fresh clone: a field named "13" for a JSON
syntax error, "Input should be a valid dictionary" for a body sent without its Content-Type,
"invalid character in year" for 01/02/2027, a bad id reported twice, "only a in_review
deliverable", and 401s typed `about:blank` while every other problem has the project's type.
"""

from __future__ import annotations

from typing import Any

import httpx

from application.access import GlobalRole
from tests.integration.conftest import User, Users

TYPES = "https://milestone-ledger.dev/problems/"


def problem_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["type"].startswith(TYPES), body
    return body


def new_project(user: User) -> str:
    created = user.post("/v1/projects", {"name": "Errors"})
    assert created.status_code == 201, created.text
    project_id: str = created.json()["project_id"]
    return project_id


def test_malformed_json_is_named_as_such_not_as_a_field(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    response = alice.client.post(
        "/v1/projects",
        content=b'{"name": "x",',
        headers=alice.headers({"Content-Type": "application/json"}),
    )
    body = problem_of(response, 422)
    assert body["errors"] == [
        {
            "field": "",
            "message": "the body is not valid JSON at character 13: "
            "Expecting property name enclosed in double quotes",
            "type": "json_invalid",
        }
    ]
    assert body["detail"] == body["errors"][0]["message"]


def test_a_body_without_its_content_type_says_which_header_to_send(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    response = alice.client.post("/v1/projects", content=b'{"name": "x"}', headers=alice.headers())
    body = problem_of(response, 422)
    assert "Content-Type: application/json" in body["detail"]


def test_a_date_in_another_format_is_shown_how_to_write_it(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    pid = new_project(alice)
    phase = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).json()["phase_id"]
    response = alice.post(
        f"/v1/projects/{pid}/milestones",
        {"name": "M", "due": "01/02/2027", "phase_id": phase, "deliverable_ids": []},
    )
    body = problem_of(response, 422)
    (error,) = body["errors"]
    assert error["field"] == "due"
    assert "write a date as YYYY-MM-DD, e.g. 2027-02-01" in error["message"]
    assert body["detail"].startswith("due: ")
    unchanged = alice.get(f"/v1/projects/{pid}")
    assert unchanged.json()["milestones"] == []


def test_a_bad_id_in_the_path_is_reported_once_with_the_expected_form(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    response = alice.get("/v1/projects/not-a-uuid")
    body = problem_of(response, 422)
    (error,) = body["errors"]
    assert error["field"] == "path.project_id"
    assert "ids are the UUIDs this API returned" in error["message"]


def test_401s_carry_the_projects_problem_type_and_say_how_to_get_in(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    missing = problem_of(alice.client.get("/v1/projects"), 401)
    assert missing["type"] == TYPES + "unauthorized"
    assert "Authorization: Bearer <token>" in missing["detail"]
    unknown = problem_of(
        alice.client.get("/v1/projects", headers={"Authorization": "Bearer nope"}), 401
    )
    assert unknown["type"] == TYPES + "unauthorized"
    assert unknown["detail"].startswith("unknown token")


def test_an_unknown_route_names_itself_and_points_at_the_docs(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    body = problem_of(alice.get("/v1/projectz"), 404)
    assert body["detail"] == "there is no GET /v1/projectz; the routes are at /docs"
    wrong_method = problem_of(alice.delete("/v1/projects"), 405)
    assert wrong_method["type"] == TYPES + "method-not-allowed"


def test_a_refused_review_says_the_state_in_words(users: Users) -> None:
    alice = users("alice", GlobalRole.ADMIN)
    pid = new_project(alice)
    phase = alice.post(f"/v1/projects/{pid}/phases", {"name": "Build"}).json()["phase_id"]
    deliverable = alice.post(
        f"/v1/projects/{pid}/deliverables", {"title": "Spec", "phase_id": phase}
    ).json()["deliverable_id"]
    body = problem_of(alice.post(f"/v1/projects/{pid}/deliverables/{deliverable}/approve", {}), 409)
    assert body["errors"][0]["rule"] == "R5"
    assert body["errors"][0]["message"] == (
        "'Spec' is in draft; only a deliverable in review can be approved"
    )
