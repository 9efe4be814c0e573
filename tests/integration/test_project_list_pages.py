"""The project list comes a page at a time (issue 20): by name, each project once, the next page
named by the `Link` header; the answer stays a bare array."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx

from application.access import GlobalRole
from tests.integration.conftest import User, Users
from tests.integration.scripted import ok


def _create(user: User, name: str) -> dict[str, Any]:
    return ok(user.post("/v1/projects", {"name": name}))


def _walk(user: User, first: str, between: Any = None) -> list[list[dict[str, Any]]]:
    """Every page from `first` on, following `rel="next"`; `between()` runs after page one."""
    pages: list[list[dict[str, Any]]] = []
    url: str | None = first
    while url is not None:
        response = user.get(url)
        assert response.status_code == 200, response.text
        pages.append(response.json())
        url = response.links.get("next", {}).get("url")
        if between is not None and len(pages) == 1:
            between()
    return pages


def test_pages_list_every_project_once_by_name_with_one_created_between_pages(
    users: Users,
) -> None:
    pat = users("pat")
    created = [_create(pat, name) for name in ("Delta", "Alpha", "Echo", "Charlie", "Bravo")]
    head = created[-1]["position"]
    late: list[dict[str, Any]] = []

    def create_foxtrot() -> None:
        late.append(_create(pat, "Foxtrot"))
        # The next pages are read once the view has it (a page's own min_position is the first's).
        ok(pat.get("/v1/projects", params={"limit": 1, "min_position": late[0]["position"]}))

    pages = _walk(pat, f"/v1/projects?limit=2&min_position={head}", between=create_foxtrot)

    listed = [project["name"] for page in pages for project in page]
    assert [len(page) for page in pages[:-1]] == [2] * (len(pages) - 1)
    assert listed == ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot"]
    ids = [project["id"] for page in pages for project in page]
    assert sorted(ids) == sorted([c["project_id"] for c in created] + [late[0]["project_id"]])


def test_projects_of_one_name_are_paged_by_id_without_loss(users: Users) -> None:
    pat = users("pat")
    created = [_create(pat, "Same name") for _ in range(5)]

    pages = _walk(pat, f"/v1/projects?limit=2&min_position={created[-1]['position']}")

    ids = [project["id"] for page in pages for project in page]
    assert ids == sorted(c["project_id"] for c in created)


def test_the_last_page_names_no_next_page(users: Users) -> None:
    pat = users("pat")
    created = _create(pat, "Only one")

    response = pat.get("/v1/projects", params={"limit": 2, "min_position": created["position"]})

    assert [p["id"] for p in response.json()] == [created["project_id"]]
    assert "next" not in response.links


def test_the_next_page_reads_at_least_the_first_page_s_position(users: Users) -> None:
    pat = users("pat")
    created = [_create(pat, name) for name in ("One", "Two")]

    first = pat.get("/v1/projects", params={"limit": 1, "min_position": created[-1]["position"]})

    assert f"min_position={created[-1]['position']}" in first.links["next"]["url"]


def test_without_a_limit_a_page_holds_at_most_a_hundred_projects(users: Users) -> None:
    pat, audrey = users("pat"), users("audrey", GlobalRole.AUDITOR)
    created = [_create(pat, f"Project {n:03d}") for n in range(101)]

    first = audrey.get("/v1/projects", params={"min_position": created[-1]["position"]})

    assert len(first.json()) == 100
    assert first.links["next"]["url"].startswith("/v1/projects?limit=100&cursor=")


def test_a_cursor_this_api_did_not_hand_out_is_422_problem(users: Users) -> None:
    pat = users("pat")
    _create(pat, "Kept")
    forged = [
        "not-base64!",
        "eyJ4IjoxfQ",  # {"x":1}
        "WyJhdWRpdCIsICJhIiwgIm5vdC1hLXV1aWQiXQ",  # ["audit", "a", "not-a-uuid"]
        # Shapes that once answered 500 (review): an id that is no string, a NUL in the name.
        _forge(["projects", "a", 1]),
        _forge(["projects", "a", ["x"]]),
        _forge(["projects", "a\u0000b", "00000000-0000-0000-0000-000000000000"]),
    ]

    for cursor in forged:
        response = pat.get("/v1/projects", params={"cursor": cursor})
        _assert_problem(response, 422)
        assert response.json()["errors"][0]["field"] == "cursor"


def test_a_page_larger_than_a_thousand_is_422_problem(users: Users) -> None:
    pat = users("pat")

    _assert_problem(pat.get("/v1/projects", params={"limit": 1001}), 422)
    _assert_problem(pat.get("/v1/projects", params={"limit": 0}), 422)


def _forge(cursor: object) -> str:
    text = json.dumps(cursor)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _assert_problem(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
