"""The web page shows each phase's exit gate and the decision that stands (R24, R25): its
words, participants, the independent ones, the signature and the conditions."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.service import Demo
from tests.browser.test_web import sign_in

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too


def _gated_project(base_url: str, demo: Demo) -> str:
    """A project of alice's (carol a reviewer): Design with a conditional decision, one of its
    two conditions closed; Build without a gate."""
    alice = {"Authorization": f"Bearer {demo.tokens['alice']}"}

    def call(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = httpx.request(method, f"{base_url}/v1{path}", json=body, headers=alice)
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    pid = call("POST", "/projects", {"name": "Gated plan"})["project_id"]
    base = f"/projects/{pid}"
    call("POST", f"{base}/members", {"principal": "carol", "role": "reviewer"})
    design = call("POST", f"{base}/phases", {"name": "Design"})["phase_id"]
    call("POST", f"{base}/phases", {"name": "Build"})
    call("PUT", f"{base}/phases/{design}/gate", {"required": True})
    decision = {
        "decision": "conditional",
        "participants": ["alice", "carol"],
        "reason": "design review held",
        "conditions": ["update the risk log", "sign the FMEA"],
    }
    call("POST", f"{base}/phases/{design}/gate/decisions", decision)
    project = httpx.get(f"{base_url}/v1{base}", headers=alice).json()
    first = project["phases"][0]["decision"]["conditions"][0]["id"]
    call("POST", f"{base}/phases/{design}/gate/conditions/{first}/close", {"how": "log v3"})
    return str(pid)


def test_the_page_shows_each_phases_gate_and_the_decision_that_stands(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    pid = _gated_project(base_url, demo_project)

    sign_in(page, base_url, demo_project.tokens["alice"])
    page.goto(f"{base_url}/#/projects/{pid}")

    expect(page.get_by_role("heading", name="Phase gates")).to_be_visible()
    rows = page.locator("#gates-table tbody tr")
    expect(rows).to_have_count(2)
    design = page.locator("#gates-table tbody tr[data-gate='conditional_open']")
    expect(design).to_contain_text("1. Design")
    expect(design).to_contain_text("conditional, open conditions")
    expect(design).to_contain_text("independent: alice, carol")
    expect(design).to_contain_text("alice (approval)")
    expect(design).to_contain_text("update the risk log — closed by alice: log v3")
    expect(design).to_contain_text("sign the FMEA — open")
    expect(page.locator("#gates-table tbody tr[data-gate='none']")).to_contain_text("2. Build")
    expect(page.locator("#timeline svg g.gate[data-gate='conditional_open']")).to_have_count(1)


def test_a_manager_gives_a_phase_a_gate_and_records_a_signed_decision_on_the_page(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    pid = _gated_project(base_url, demo_project)
    sign_in(page, base_url, demo_project.tokens["alice"])
    page.goto(f"{base_url}/#/projects/{pid}")
    expect(page.locator("#gates-table tbody tr")).to_have_count(2)

    gate = page.get_by_role("group", name="Set a phase's exit gate", exact=True)
    gate.get_by_label("Phase", exact=True).select_option(label="Build")
    gate.get_by_role("button", name="Set exit gate").click()
    expect(page.locator("#gates-table tbody tr[data-gate='missing']")).to_contain_text("Build")

    decide = page.get_by_role("group", name="Record a gate decision", exact=True)
    decide.get_by_label("Phase", exact=True).select_option(label="Build")
    decide.get_by_label("Decision", exact=True).select_option(label="Conditional")
    decide.get_by_label("Participants", exact=False).select_option(["carol"])
    decide.get_by_label("Reason", exact=True).fill("build review held")
    decide.get_by_label("Conditions").fill("load test report\nsecurity scan")
    decide.get_by_role("button", name="Record and sign").click()

    build = page.locator("#gates-table tbody tr").filter(has_text="2. Build")
    expect(build).to_have_attribute("data-gate", "conditional_open")
    expect(build).to_contain_text("load test report — open")
    expect(build).to_contain_text("security scan — open")
    expect(build).to_contain_text("independent: carol")
