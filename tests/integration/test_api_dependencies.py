"""Dependencies over HTTP: set, change, remove; a cycle and an open predecessor are 409s that
name them (R16, R17), and a refused command changes nothing."""

from __future__ import annotations

from tests.integration.conftest import User, Users


def project_with(user: User, *names: str) -> tuple[str, list[str]]:
    pid = user.post("/v1/projects", {"name": "Chain"}).json()["project_id"]
    base = f"/v1/projects/{pid}"
    phase = user.post(f"{base}/phases", {"name": "Build"}).json()["phase_id"]
    mids = [
        user.post(
            f"{base}/milestones",
            {"name": name, "phase_id": phase, "due": "2031-01-10", "deliverable_ids": []},
        ).json()["milestone_id"]
        for name in names
    ]
    return pid, mids


def version_of(user: User, pid: str) -> int:
    version: int = user.get(f"/v1/projects/{pid}").json()["version"]
    return version


def test_a_dependency_is_set_with_its_lag_then_changed_then_removed(users: Users) -> None:
    alice = users("alice")
    pid, (design, build) = project_with(alice, "Design", "Build")
    path = f"/v1/projects/{pid}/milestones/{build}/predecessors/{design}"

    added = alice.put(path, json={"lag_days": 2})
    again = alice.put(path, json={"lag_days": 2})
    changed = alice.put(path, json={"lag_days": 4})
    removed = alice.delete(path)

    assert added.status_code == 200, added.text
    assert added.json()["predecessor_id"] == design
    assert [r.json()["changed"] for r in (added, again, changed, removed)] == [
        True,
        False,
        True,
        True,
    ]


def test_a_dependency_closing_a_cycle_is_409_naming_the_cycle(users: Users) -> None:
    alice = users("alice")
    pid, (a, b, c) = project_with(alice, "A", "B", "C")
    base = f"/v1/projects/{pid}/milestones"
    assert alice.put(f"{base}/{b}/predecessors/{a}", json={}).status_code == 200
    assert alice.put(f"{base}/{c}/predecessors/{b}", json={}).status_code == 200
    before = version_of(alice, pid)

    refused = alice.put(f"{base}/{a}/predecessors/{c}", json={})

    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    [error] = refused.json()["errors"]
    assert error["rule"] == "R16"
    assert error["cycle"] == [a, c, b, a]
    assert "'A' → 'C' → 'B' → 'A'" in error["message"]
    assert version_of(alice, pid) == before


def test_achieving_with_an_open_predecessor_is_409_naming_it(users: Users) -> None:
    alice = users("alice")
    pid, (design, build) = project_with(alice, "Design", "Build")
    base = f"/v1/projects/{pid}/milestones"
    assert alice.put(f"{base}/{build}/predecessors/{design}", json={}).status_code == 200
    before = version_of(alice, pid)

    refused = alice.post(f"{base}/{build}/achieve", {})

    assert refused.status_code == 409
    blocking = [e for e in refused.json()["errors"] if e["rule"] == "R17"]
    assert [e["predecessor_id"] for e in blocking] == [design]
    assert "'Design'" in blocking[0]["message"]
    assert version_of(alice, pid) == before


def test_a_lag_out_of_bounds_is_422_and_an_unknown_predecessor_404(users: Users) -> None:
    alice = users("alice")
    pid, (design, build) = project_with(alice, "Design", "Build")
    base = f"/v1/projects/{pid}/milestones/{build}/predecessors"
    before = version_of(alice, pid)

    too_long = alice.put(f"{base}/{design}", json={"lag_days": 366})
    unknown = alice.put(f"{base}/00000000-0000-4000-8000-000000000000", json={})

    assert too_long.status_code == 422
    assert unknown.status_code == 404
    assert version_of(alice, pid) == before


def test_only_a_manager_sets_dependencies(users: Users) -> None:
    alice, bob = users("alice"), users("bob")
    pid, (design, build) = project_with(alice, "Design", "Build")
    alice.post(f"/v1/projects/{pid}/members", {"principal": bob.name, "role": "contributor"})

    refused = bob.put(f"/v1/projects/{pid}/milestones/{build}/predecessors/{design}", json={})

    assert refused.status_code == 403
