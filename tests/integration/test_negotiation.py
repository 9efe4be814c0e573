"""What a generated client relies on at run time (issue 16, item 6): `Accept` by its q-values,
406 for a format no read answers, and a view's weak ETag answered 304 when it still holds."""

from __future__ import annotations

from api.problems import PROBLEM_JSON
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok


def _project(user: User) -> tuple[str, int]:
    created = ok(user.post("/v1/projects", {"name": "Negotiated"}))
    return str(created["project_id"]), int(created["position"])


def test_accept_is_read_by_its_q_values(users: Users) -> None:
    alice = users("alice")
    pid, _ = _project(alice)
    history = f"/v1/projects/{pid}/history"

    preferred = alice.get(history, headers={"Accept": "text/csv;q=0.5, application/x-ndjson"})
    refused_json = alice.get(history, headers={"Accept": "application/json;q=0, text/csv;q=0.1"})
    plain = alice.get(history, headers={"Accept": "*/*"})

    assert preferred.headers["content-type"].startswith("application/x-ndjson")
    assert refused_json.headers["content-type"].startswith("text/csv")
    assert plain.headers["content-type"].startswith("application/json")


def test_an_accept_no_read_answers_is_406_problem_json(users: Users) -> None:
    alice = users("alice")
    pid, _ = _project(alice)

    for path in (f"/v1/projects/{pid}/history", "/v1/audit"):
        refused = alice.get(path, headers={"Accept": "text/html, application/xml;q=0.9"})

        assert refused.status_code == 406
        assert refused.headers["content-type"].startswith(PROBLEM_JSON)
        assert "text/csv" in refused.json()["detail"]


def test_a_views_weak_etag_answers_304_while_it_holds(users: Users) -> None:
    alice = users("alice")
    pid, position = _project(alice)
    for view in ("schedule", "alignment"):
        path = f"/v1/projects/{pid}/{view}"
        first = alice.get(path, params={"min_position": position})
        etag = first.headers["ETag"]
        assert etag.startswith('W/"')

        again = alice.get(path, headers={"If-None-Match": etag})
        strong = alice.get(path, headers={"If-None-Match": etag.removeprefix("W/")})
        other = alice.get(path, headers={"If-None-Match": 'W/"0-2000-01-01"'})

        assert (again.status_code, again.headers["ETag"], again.content) == (304, etag, b"")
        assert strong.status_code == 304  # If-None-Match compares weakly
        assert other.status_code == 200


def test_the_projects_etag_answers_304_to_a_weak_or_listed_tag(users: Users) -> None:
    alice = users("alice")
    pid, _ = _project(alice)
    etag = alice.get(f"/v1/projects/{pid}").headers["ETag"]

    listed = alice.get(f"/v1/projects/{pid}", headers={"If-None-Match": f'"999", W/{etag}'})

    assert listed.status_code == 304
