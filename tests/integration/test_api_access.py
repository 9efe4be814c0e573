"""Who may do what (SPEC §2): 401 without a token, 404 for strangers, 403 for a too-small role."""

from __future__ import annotations

from application.access import GlobalRole
from tests.integration.conftest import Users


def test_missing_or_unknown_token_is_401_problem(users: Users) -> None:
    alice = users("alice")

    missing = alice.client.get("/v1/projects")
    unknown = alice.client.get("/v1/projects", headers={"Authorization": "Bearer nope"})

    for response in (missing, unknown):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_principal_with_no_role_gets_404_for_the_project(users: Users) -> None:
    alice, mallory = users("alice"), users("mallory")
    pid = alice.post("/v1/projects", {"name": "Secret"}).json()["project_id"]

    assert mallory.get(f"/v1/projects/{pid}").status_code == 404
    assert mallory.get(f"/v1/projects/{pid}/schedule").status_code == 404
    assert mallory.post(f"/v1/projects/{pid}/phases", {"name": "X"}).status_code == 404
    assert pid not in [p["id"] for p in mallory.get("/v1/projects").json()]


def test_a_viewer_reads_but_gets_403_for_commands(users: Users) -> None:
    alice, victor = users("alice"), users("victor")
    pid = alice.post("/v1/projects", {"name": "P"}).json()["project_id"]
    added = alice.post(f"/v1/projects/{pid}/members", {"principal": victor.name, "role": "viewer"})

    assert victor.get(f"/v1/projects/{pid}").status_code == 200
    assert victor.post(f"/v1/projects/{pid}/phases", {"name": "X"}).status_code == 403
    listed = victor.get("/v1/projects", params={"min_position": added.json()["position"]})
    assert pid in [p["id"] for p in listed.json()]


def test_an_auditor_reads_every_project_and_writes_nothing(users: Users) -> None:
    alice, audrey = users("alice"), users("audrey", GlobalRole.AUDITOR)
    created = alice.post("/v1/projects", {"name": "Audited"}).json()
    pid = created["project_id"]

    assert audrey.get(f"/v1/projects/{pid}").status_code == 200
    assert audrey.post(f"/v1/projects/{pid}/phases", {"name": "X"}).status_code == 403
    assert audrey.post("/v1/projects", {"name": "Mine"}).status_code == 403
    listed = audrey.get("/v1/projects", params={"min_position": created["position"]})
    ids = [p["id"] for p in listed.json()]
    while "next" in listed.links:  # an auditor reads every project, a page at a time
        listed = audrey.get(listed.links["next"]["url"])
        ids += [p["id"] for p in listed.json()]
    assert pid in ids


def test_adding_an_unknown_principal_as_member_is_422(users: Users) -> None:
    alice = users("alice")
    pid = alice.post("/v1/projects", {"name": "P"}).json()["project_id"]

    response = alice.post(f"/v1/projects/{pid}/members", {"principal": "ghost", "role": "viewer"})

    assert response.status_code == 422


def test_the_openapi_document_describes_every_command_and_its_errors(users: Users) -> None:
    doc = users("x").client.get("/openapi.json").json()

    achieve = doc["paths"]["/v1/projects/{project_id}/milestones/{milestone_id}/achieve"]["post"]
    assert {"200", "409", "412", "422"} <= set(achieve["responses"])
    assert len(doc["paths"]) >= 20
