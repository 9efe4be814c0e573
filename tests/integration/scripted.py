"""A scripted project for the history tests: a rejection, reschedules, a re-baseline, a reopen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from tests.integration.conftest import User

FAR = date.today() + timedelta(days=60)


@dataclass
class Scripted:
    """What the script made, and what it knows the retrospective must say."""

    pid: str
    phase: str
    report: str  # deliverable: rejected once, then approved (2 rounds)
    manual: str  # deliverable: approved at the first round
    handover: str  # milestone: rescheduled +10, re-baselined, rescheduled +3, achieved
    launch: str  # milestone: achieved, reopened, still open
    dropped: str  # milestone: cancelled
    last_position: int


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


def script(manager: User, reviewer: User) -> Scripted:
    """Runs the project's whole life through the API."""
    pid = ok(manager.post("/v1/projects", {"name": "Harbour study"}))["project_id"]
    base = f"/v1/projects/{pid}"
    ok(manager.post(f"{base}/members", {"principal": reviewer.name, "role": "reviewer"}))
    phase = ok(manager.post(f"{base}/phases", {"name": "Analysis"}))["phase_id"]

    def deliverable(title: str) -> str:
        did: str = ok(
            manager.post(
                f"{base}/deliverables", {"title": title, "phase_id": phase, "kind": "report"}
            )
        )["deliverable_id"]
        return did

    def evidence(did: str, cid: str, uri: str) -> None:
        ok(manager.post(f"{base}/deliverables/{did}/criteria/{cid}/evidence", {"evidence": uri}))

    report, manual = deliverable("Analysis report draft"), deliverable("Operations manual")
    report_c = ok(manager.post(f"{base}/deliverables/{report}/criteria", {"text": "methodology"}))
    manual_c = ok(manager.post(f"{base}/deliverables/{manual}/criteria", {"text": "index"}))

    def milestone(name: str, due: date, *dids: str) -> str:
        mid: str = ok(
            manager.post(
                f"{base}/milestones",
                {
                    "name": name,
                    "phase_id": phase,
                    "due": due.isoformat(),
                    "deliverable_ids": list(dids),
                },
            )
        )["milestone_id"]
        return mid

    handover = milestone("Report handed over", FAR, report)
    launch = milestone("Manual published", FAR + timedelta(days=5), manual)
    dropped = milestone("Pilot run", FAR + timedelta(days=9), manual)

    evidence(report, report_c["criterion_id"], "https://docs.example.com/report-v1.pdf")
    ok(manager.post(f"{base}/deliverables/{report}/submit", {}))
    ok(reviewer.post(f"{base}/deliverables/{report}/reject", {"reason": "no methodology section"}))
    ok(
        manager.post(
            f"{base}/milestones/{handover}/reschedule",
            {"due": (FAR + timedelta(days=10)).isoformat(), "reason": "report rework"},
        )
    )
    ok(manager.post(f"{base}/baselines", {"reason": "plan agreed after rework"}))
    ok(
        manager.post(
            f"{base}/milestones/{handover}/reschedule",
            {"due": (FAR + timedelta(days=13)).isoformat(), "reason": "reviewer on leave"},
        )
    )
    evidence(report, report_c["criterion_id"], "https://docs.example.com/report-v2.pdf")
    ok(manager.post(f"{base}/deliverables/{report}/submit", {}))
    ok(reviewer.post(f"{base}/deliverables/{report}/approve", {}))
    ok(manager.post(f"{base}/milestones/{handover}/achieve", {}))

    evidence(manual, manual_c["criterion_id"], "https://docs.example.com/manual.pdf")
    ok(manager.post(f"{base}/deliverables/{manual}/submit", {}))
    ok(reviewer.post(f"{base}/deliverables/{manual}/approve", {}))
    ok(manager.post(f"{base}/milestones/{launch}/achieve", {}))
    ok(manager.post(f"{base}/milestones/{launch}/reopen", {"reason": "published the wrong PDF"}))
    last = ok(manager.post(f"{base}/milestones/{dropped}/cancel", {"reason": "pilot descoped"}))
    return Scripted(pid, phase, report, manual, handover, launch, dropped, int(last["position"]))
