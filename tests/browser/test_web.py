"""The web view in a real browser: sign in, the demo project, time travel, the audit trail."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.service import Demo

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too

REVIEWED = "Architecture decision record"


def sign_in(page: Page, base_url: str, token: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Bearer token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()


def open_demo(page: Page, base_url: str, demo: Demo) -> None:
    sign_in(page, base_url, demo.tokens["alice"])
    page.locator(f"a[href='#/projects/{demo.project_id}']").click()
    expect(page.get_by_role("heading", name="Customer Portal Relaunch")).to_be_visible()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)


def history(base_url: str, demo: Demo) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/v1/projects/{demo.project_id}/history",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {demo.tokens['alice']}"},
    )
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def deliverable_row(page: Page, title: str) -> Any:
    return page.locator("#deliverables-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=title)
    )


def test_signing_in_keeps_the_token_out_of_the_address_and_lists_the_demo(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    sign_in(page, base_url, demo_project.tokens["alice"])

    assert demo_project.tokens["alice"] not in page.url
    row = page.locator("#projects-table tbody tr").filter(
        has=page.locator(f"a[href='#/projects/{demo_project.project_id}']")
    )
    expect(row).to_contain_text("manager")
    stored = page.evaluate("sessionStorage.getItem('milestones.token')")
    assert stored == demo_project.tokens["alice"]


def test_an_unknown_token_is_refused_with_a_message(page: Page, base_url: str) -> None:
    page.goto(base_url + "/")
    page.get_by_label("Bearer token").fill("not-a-token")
    page.get_by_role("button", name="Sign in").click()

    expect(page.locator("#sign-in-error")).to_contain_text("not accepted")
    assert page.evaluate("sessionStorage.getItem('milestones.token')") is None


def test_the_project_page_shows_timeline_schedule_evidence_and_warnings(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    open_demo(page, base_url, demo_project)

    expect(page.locator("#timeline svg g.milestone[data-health='overdue']")).to_have_count(1)
    schedule = page.locator("#schedule-table tbody tr")
    expect(schedule).to_have_count(8)
    expect(schedule.filter(has_text="Design signed off")).to_contain_text("+7 d")
    row = deliverable_row(page, REVIEWED)
    expect(row).to_contain_text("approved")
    expect(row).to_contain_text("2 of 2")
    link = row.get_by_role("link", name="https://docs.example.com/architecture-decision-record#c1")
    expect(link).to_be_visible()
    warnings = page.locator("#alignment-list li")
    expect(warnings.filter(has_text="Steering committee review")).to_have_count(1)
    expect(warnings.filter(has_text="Go-live runbook")).to_have_count(1)


def test_moving_the_slider_before_an_approval_shows_the_deliverable_in_review(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    events = history(base_url, demo_project)
    titles = {
        e["data"]["deliverable_id"]: e["data"]["title"]
        for e in events
        if e["type"] == "DeliverableDefined"
    }
    approval = next(
        e
        for e in events
        if e["type"] == "DeliverableApproved" and titles[e["data"]["deliverable_id"]] == REVIEWED
    )
    open_demo(page, base_url, demo_project)
    slider = page.get_by_label("Plan as recorded after change")

    slider.fill(str(approval["version"] - 1))

    expect(page.locator("#as-of-text")).to_contain_text(f"version {approval['version'] - 1} of")
    expect(deliverable_row(page, REVIEWED)).to_contain_text("in review")
    # The timeline was redrawn as of then too: the milestones achieved later are open on it.
    achievements = [e["version"] for e in events if e["type"] == "MilestoneAchieved"]
    achieved_then = sum(1 for version in achievements if version < approval["version"])
    assert achieved_then < len(achievements), "the demo achieves a milestone after the approval"
    achieved = page.locator('#timeline svg g.milestone[data-status="achieved"]')
    expect(achieved).to_have_count(achieved_then)

    slider.press("ArrowRight")  # the keyboard moves through history one change at a time

    expect(page.locator("#as-of-text")).to_contain_text(f"version {approval['version']} of")
    expect(deliverable_row(page, REVIEWED)).to_contain_text("approved")

    page.get_by_role("button", name="Now").click()

    expect(page.locator("#as-of-text")).to_contain_text("Now:")
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)
    expect(achieved).to_have_count(len(achievements))
    expect(achieved).to_have_count(len(achievements))


def test_the_audit_trail_filtered_by_a_reviewer_downloads_as_csv(
    page: Page, base_url: str, demo_project: Demo, tmp_path: Path
) -> None:
    open_demo(page, base_url, demo_project)

    page.get_by_label("Actor").select_option("bob")
    page.get_by_role("button", name="Apply filters").click()

    actors = page.locator("#audit-table tbody td.actor")
    expect(actors.first).to_have_text("bob")
    shown = actors.all_inner_texts()
    assert set(shown) == {"bob"}
    types = set(
        page.locator("#audit-table tbody tr").evaluate_all("rs => rs.map(r => r.dataset.type)")
    )
    assert types == {"DeliverableApproved", "DeliverableRejected"}

    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").click()
    saved = tmp_path / "audit.csv"
    download.value.save_as(saved)
    with saved.open(newline="") as handle:
        rows = list(csv.DictReader(handle))

    assert download.value.suggested_filename == "customer-portal-relaunch-audit-bob.csv"
    assert len(rows) == len(shown)
    assert {row["actor"] for row in rows} == {"bob"}
    assert {row["project_id"] for row in rows} == {str(demo_project.project_id)}


def test_the_second_handle_shows_what_changed_since_then_in_the_list_tables_and_timeline(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    events = history(base_url, demo_project)
    moved = next(e for e in events if e["type"] == "MilestoneRescheduled")
    mid = moved["data"]["milestone_id"]
    open_demo(page, base_url, demo_project)
    second = page.get_by_label("Compare with the plan after change")

    second.fill(str(moved["version"] - 1))

    change = page.locator(f"#diff-list li[data-id='{mid}']")
    expect(change).to_contain_text("Design signed off")
    expect(change).to_contain_text(f"due {moved['data']['previous_due']} → {moved['data']['due']}")
    expect(change).to_contain_text(moved["data"]["reason"])
    expect(page.locator(f"#schedule-table tr[data-milestone-id='{mid}']")).to_have_class("changed")
    expect(page.locator(f"#timeline svg g.milestone[data-id='{mid}']")).to_have_class(
        "milestone changed"
    )
    expect(page.locator("#diff-text")).to_contain_text(f"to version {len(events)}")

    # The first handle moved back to before the reschedule: nothing to compare with anymore.
    page.get_by_label("Plan as recorded after change").fill(str(moved["version"] - 1))

    expect(page.locator("#diff-list li")).to_have_count(0)
    expect(page.locator("#schedule-table tr.changed")).to_have_count(0)

    page.get_by_role("button", name="No comparison").click()

    expect(page.locator("#diff-text")).to_have_text("")


def test_review_rounds_and_achievements_show_each_signature_with_its_meaning(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    """R27: "Signed by <printed name> (<principal>) — <meaning> — <time>" for each approval
    of the round that stands and for each achievement, as the events recorded them."""
    events = history(base_url, demo_project)
    names = {
        e["data"]["deliverable_id"]: e["data"]["title"]
        for e in events
        if e["type"] == "DeliverableDefined"
    }
    approval = next(
        e
        for e in events
        if e["type"] == "DeliverableApproved" and names[e["data"]["deliverable_id"]] == REVIEWED
    )
    achieved = next(e for e in events if e["type"] == "MilestoneAchieved")
    milestone = next(
        e["data"]["name"]
        for e in events
        if e["type"] == "MilestoneDefined"
        and e["data"]["milestone_id"] == achieved["data"]["milestone_id"]
    )
    open_demo(page, base_url, demo_project)

    signed = deliverable_row(page, REVIEWED).locator(".signatures li")
    expect(signed).to_have_count(len(approval["data"]["signers"]))
    printed = approval["data"]["signer_name"]
    expect(signed.last).to_contain_text(
        f"Signed by {printed} ({approval['actor']}) — {approval['data']['meaning']} — "
    )
    row = page.locator("#schedule-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=milestone, exact=True)
    )
    expect(row.locator(".signature")).to_contain_text(
        f"Signed by {achieved['data']['signer_name']} ({achieved['actor']}) — responsibility — "
    )
