"""Every route of the OpenAPI document × every kind of caller × own / another project.

The expected status comes from the access rule each route declares (`api.access`), read from
the route itself: a new route is covered as soon as it exists, and one that declares no rule
fails `test_every_route_declares_one_access_rule` by name. Commands are sent with a body the
schema refuses, so a caller who gets through is answered 422 and nothing changes; a caller who
does not is answered 401, 403 or 404 before the body is looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from api.access import Requirement, Rule
from api.bootstrap import Container
from application.access import GlobalRole
from domain.roles import ProjectRole
from tests.integration.conftest import User, Users

KINDS = (
    "anonymous",
    "non-member",
    "viewer",
    "contributor",
    "reviewer",
    "manager",
    "auditor",
    "admin",
)
ALLOWED = "allowed"  # any answer but 401, 403 or 404
# Query parameters some routes need to answer promptly in a test.
QUERY: dict[str, dict[str, str]] = {"/v1/events/stream": {"max_seconds": "0.1"}}


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    dependant: Dependant


def _operations(app: FastAPI) -> Iterator[Operation]:
    """Every route with its effective dependencies (router-level ones included); newer
    FastAPI keeps included routers as branches, older ones flatten them into APIRoutes."""
    for route in app.routes:
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                yield Operation(method, route.path_format, route.dependant)
            continue
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            continue
        for context in contexts():
            original = context.original_route
            if isinstance(original, APIRoute):
                for method in original.methods or ():
                    yield Operation(method, context.path, context.dependant)


def api_routes(app: FastAPI) -> Iterator[Operation]:
    """Every operation of the OpenAPI document, with the route that serves it."""
    known = {(op.method, op.path): op for op in _operations(app)}
    for path, operations in app.openapi()["paths"].items():
        for method in operations:
            found = known.get((method.upper(), path))
            assert found is not None, f"no route serves {method.upper()} {path}"
            yield found


def requirements_of(operation: Operation) -> list[Requirement]:
    found: list[Requirement] = []
    pending = list(operation.dependant.dependencies)
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, Requirement) and dependant.call not in found:
            found.append(dependant.call)
        pending.extend(dependant.dependencies)
    return found


def expected(requirement: Requirement, kind: str, own: bool) -> int | str:
    """What SPEC §2 says this kind of caller gets from a route with this rule."""
    rule = requirement.rule
    if rule is Rule.PUBLIC:
        return ALLOWED
    if kind == "anonymous":
        return 401
    if rule is Rule.AUTHENTICATED:
        return ALLOWED
    if rule is Rule.NOT_AUDITOR:
        return 403 if kind == "auditor" else ALLOWED
    if rule is Rule.READS_EVERYTHING:
        return ALLOWED if kind in ("auditor", "admin") else 403
    if rule is Rule.WEBHOOK:
        # A subscription is the business of its project's managers and of admins; anyone
        # else is not told it exists.
        return ALLOWED if kind == "admin" or (kind == "manager" and own) else 404
    if rule is Rule.ADMIN:
        return ALLOWED if kind == "admin" else 403
    assert rule is Rule.PROJECT
    assert requirement.project_role is not None
    if kind in ("auditor", "admin"):
        # They see every project, so a command they may not send is 403, not 404.
        return 403 if requirement.writes else ALLOWED
    if kind == "non-member" or not own:
        return 404
    return ALLOWED if ProjectRole(kind).includes(requirement.project_role) else 403


@dataclass
class World:
    """Two projects with one of everything, and a caller of each kind."""

    callers: dict[str, User | None]
    own: dict[str, str]
    other: dict[str, str]


def _project(manager: User, members: dict[str, str]) -> dict[str, str]:
    pid = manager.post("/v1/projects", {"name": "Matrix"}).json()["project_id"]
    for name, role in members.items():
        assert manager.post(
            f"/v1/projects/{pid}/members", {"principal": name, "role": role}
        ).is_success
    base = f"/v1/projects/{pid}"
    phase = manager.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    deliverable = manager.post(
        f"{base}/deliverables", {"title": "Report", "phase_id": phase}
    ).json()["deliverable_id"]
    criterion = manager.post(
        f"{base}/deliverables/{deliverable}/criteria", {"text": "complete"}
    ).json()["criterion_id"]
    due = (date.today() + timedelta(days=30)).isoformat()
    milestone = manager.post(
        f"{base}/milestones",
        {"name": "Done", "phase_id": phase, "due": due, "deliverable_ids": [deliverable]},
    ).json()["milestone_id"]
    artifact = manager.request(
        "POST", f"{base}/artifacts", content=b"evidence", headers={"Content-Type": "text/plain"}
    ).json()["sha256"]
    return {
        "project_id": pid,
        "webhook_id": _webhook(manager, pid),
        "phase_id": phase,
        "deliverable_id": deliverable,
        "criterion_id": criterion,
        "milestone_id": milestone,
        # A dependency on itself: set, it is refused (409); removed, nothing was there.
        "predecessor_id": milestone,
        # No such condition (R24): the probe's body is refused (422) before it is looked for.
        "condition_id": phase,
        "sha256": artifact,
        # Removing the last manager is refused (409): the matrix changes no membership.
        "principal": manager.name,
        # A group (R26): the matrix's PUT has no body, so an allowed caller gets 422.
        "name": "QA",
    }


def _webhook(manager: User, pid: str) -> str:
    """An inactive subscription (nothing is sent) to a literal public address."""
    body = {"url": "https://93.184.215.14/hook", "project_id": pid, "active": False}
    return str(manager.post("/v1/webhooks", body).json()["id"])


@pytest.fixture(scope="module")
def world(container: Container, client: TestClient) -> World:
    users = Users(container, client)
    manager = users("manager")
    callers: dict[str, User | None] = {
        "anonymous": None,
        "non-member": users("stranger"),
        "viewer": users("viewer"),
        "contributor": users("contributor"),
        "reviewer": users("reviewer"),
        "manager": manager,
        "auditor": users("auditor", GlobalRole.AUDITOR),
        "admin": users("admin", GlobalRole.ADMIN),
    }
    members = {
        user.name: kind
        for kind, user in callers.items()
        if user is not None and kind in ("viewer", "contributor", "reviewer")
    }
    own = _project(manager, members)
    other = _project(users("someone-else"), {})
    return World(callers, own, other)


def _call(
    client: TestClient, caller: User | None, method: str, path: str, ids: dict[str, str]
) -> int:
    url = path.format(**ids)
    headers = {} if caller is None else caller.headers()
    # A body no command accepts: an authorized caller gets 422 and changes nothing.
    body = {"__probe__": True} if method in ("POST", "PATCH") else None
    response = client.request(method, url, json=body, headers=headers, params=QUERY.get(path, {}))
    if method == "DELETE" and path == "/v1/webhooks/{webhook_id}" and response.is_success:
        # Deleted: the next caller asks about a subscription of the same project again.
        again = client.post(
            "/v1/webhooks",
            json={
                "url": "https://93.184.215.14/hook",
                "project_id": ids["project_id"],
                "active": False,
            },
            headers=headers,
        )
        ids["webhook_id"] = again.json()["id"]
    return int(response.status_code)


def test_every_route_declares_one_access_rule(client: TestClient) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    unclassified = [
        f"{op.method} {op.path}" for op in api_routes(app) if len(requirements_of(op)) != 1
    ]

    assert unclassified == [], (
        "each route must depend on exactly one rule of api.access (Anyone, Creator, Overseer, "
        "Reader, Contributor, Reviewer, Manager or PUBLIC)"
    )


def test_every_route_answers_every_kind_of_caller_as_its_rule_says(
    client: TestClient, world: World
) -> None:
    app: FastAPI = client.app  # type: ignore[assignment]
    deviations: list[str] = []
    checked = 0
    for op in api_routes(app):
        (requirement,) = requirements_of(op)
        method, path = op.method, op.path
        for kind in KINDS:
            for own, ids in ((True, world.own), (False, world.other)):
                want = expected(requirement, kind, own)
                got = _call(client, world.callers[kind], method, path, ids)
                checked += 1
                denied = got in (401, 403, 404)
                if (want == ALLOWED and denied) or (want != ALLOWED and got != want):
                    scope = "own" if own else "other"
                    deviations.append(
                        f"{method} {path} [{requirement.describe()}] as {kind} on {scope} "
                        f"project: expected {want}, got {got}"
                    )

    assert checked >= 8 * 2 * 30
    assert deviations == []


def _routes_by_rule(client: TestClient) -> dict[str, set[str]]:
    app: FastAPI = client.app  # type: ignore[assignment]
    table: dict[str, set[str]] = {}
    for op in api_routes(app):
        (requirement,) = requirements_of(op)
        method, path = op.method, op.path
        table.setdefault(requirement.describe(), set()).add(f"{method} {path}")
    return table


def test_spec_roles_map_to_the_routes_that_need_them(client: TestClient) -> None:
    """A spot check of the declarations themselves against SPEC §2 and §3."""
    table = _routes_by_rule(client)

    assert "POST /v1/projects" in table["not-auditor"]
    assert "GET /v1/verify" in table["reads-everything"]
    # Everyone follows the feed, a member only its own projects' events (issue 16, item 4).
    assert "GET /v1/events" in table["authenticated"]
    assert "POST /v1/tokens" in table["admin"]
    assert (
        "POST /v1/projects/{project_id}/deliverables/{deliverable_id}/approve"
        in table["project reviewer (writes)"]
    )
    assert (
        "POST /v1/projects/{project_id}/deliverables/{deliverable_id}/submit"
        in table["project contributor (writes)"]
    )
    assert (
        "POST /v1/projects/{project_id}/milestones/{milestone_id}/achieve"
        in table["project manager (writes)"]
    )
    assert "GET /v1/projects/{project_id}/history" in table["project viewer (reads)"]
    # The evidence pack: managers (and auditors and admins), not every member (issue 14).
    assert (
        "GET /v1/projects/{project_id}/milestones/{milestone_id}/evidence-pack"
        in table["project manager (reads)"]
    )
    assert "GET /health" in table["public"]
