"""A scripted project with a three-milestone chain whose first milestone slips: the schedule, the
alignment report, the retrospective and the diff all tell the same story."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.conftest import Users

TODAY = datetime.now(UTC).date()


def day(n: int) -> str:
    return (TODAY + timedelta(days=n)).isoformat()


def test_the_first_of_a_chain_slips_and_every_read_tells_the_same_story(users: Users) -> None:
    alice = users("alice")
    pid = alice.post("/v1/projects", {"name": "Bridge"}).json()["project_id"]
    base = f"/v1/projects/{pid}"
    phase = alice.post(f"{base}/phases", {"name": "Works"}).json()["phase_id"]

    def milestone(name: str, due: int) -> str:
        body = {"name": name, "phase_id": phase, "due": day(due), "deliverable_ids": []}
        mid: str = alice.post(f"{base}/milestones", body).json()["milestone_id"]
        return mid

    design, build, open_ = milestone("Design", 20), milestone("Build", 25), milestone("Open", 40)
    alice.put(f"{base}/milestones/{build}/predecessors/{design}", json={"lag_days": 3})
    alice.put(f"{base}/milestones/{open_}/predecessors/{build}", json={"lag_days": 10})
    alice.post(f"{base}/baselines", {"name": "Plan", "reason": "contract signed"})

    # Design slips ten days.
    slipped = alice.post(
        f"{base}/milestones/{design}/reschedule", {"due": day(30), "reason": "supplier late"}
    ).json()["position"]

    # The schedule: the forecast carries the ten days down the chain, less the slack.
    schedule = alice.get(f"{base}/schedule", params={"min_position": slipped}).json()
    shown = {m["name"]: m for p in schedule["phases"] for m in p["milestones"]}
    assert [shown[n]["forecast_due"] for n in ("Design", "Build", "Open")] == [
        day(30),
        day(33),
        day(43),
    ]
    assert [shown[n]["health"] for n in ("Build", "Open")] == ["at_risk", "at_risk"]

    # The alignment report: Build is late because of Design, Open because of Build and Design.
    alignment = alice.get(f"{base}/alignment", params={"min_position": slipped}).json()
    late = {m["name"]: m for m in alignment["milestones_late_by_forecast"]}
    assert {n: late[n]["late_by_days"] for n in late} == {"Build": 8, "Open": 3}
    assert [c["name"] for c in late["Open"]["chain"]] == ["Open", "Build", "Design"]

    # The plan follows the forecast.
    alice.post(f"{base}/milestones/{build}/reschedule", {"due": day(33), "reason": "after Design"})
    alice.post(f"{base}/milestones/{open_}/reschedule", {"due": day(43), "reason": "after Build"})

    # The retrospective: Design's ten days are its own; Build's 8 and Open's 3 are Design's
    # slip passed down the chain.
    retro = alice.get(f"{base}/retrospective").json()
    causes = {
        m["name"]: [(s["cause"], s["days"], s["chain"]) for s in m["slip_causes"]]
        for m in retro["milestones"]
    }
    assert causes == {
        "Design": [("reschedule", 10, [])],
        "Build": [("predecessor", 8, [design])],
        "Open": [("predecessor", 3, [build])],
    }
    assert retro["totals"]["slip_days_by_cause"] == {"reschedule": 10, "predecessor": 11}

    # The diff from the plan: the same three moves, each with the event and reason behind it.
    diff = alice.get(f"{base}/diff", params={"from": "baseline:Plan"}).json()
    moves = {
        c["name"]: ([(f["old"], f["new"]) for f in c["fields"]], c["events"][0]["reason"])
        for c in diff["changes"]
    }
    assert moves == {
        "Design": ([(day(20), day(30))], "supplier late"),
        "Build": ([(day(25), day(33))], "after Design"),
        "Open": ([(day(40), day(43))], "after Build"),
    }
    baselines = alice.get(f"{base}/baselines").json()["baselines"]
    assert [m["slip_days"] for m in baselines[0]["milestones"] if m["id"] == build] == [8]
