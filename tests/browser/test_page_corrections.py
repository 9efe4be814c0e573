"""Corrections from the page (issue 19): a contributor retitles a deliverable; a manager cancels
and reopens, each with a reason the history keeps. Set up through the API, done through the
page alone."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.service import Demo
from tests.browser.test_daily_work import (
    choose,
    control,
    deliverable_row,
    milestone_row,
    send,
    sign_in_to_demo,
)

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too


def call(base_url: str, demo: Demo, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(
        method,
        f"{base_url}/v1/projects/{demo.project_id}{path}",
        headers={"Authorization": f"Bearer {demo.tokens['alice']}"},
        **kw,
    )
    response.raise_for_status()
    return response.json()


def last_event(base_url: str, demo: Demo) -> dict[str, Any]:
    events: list[dict[str, Any]] = call(
        base_url, demo, "GET", "/history?after_version=0&limit=1000"
    )["events"]
    return events[-1]


def test_a_contributor_retitles_a_deliverable_and_the_old_title_stays_in_the_trail(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    phase = call(base_url, demo_project, "GET", "")["phases"][0]["id"]
    old = f"Draft notes {uuid4().hex[:6]}"
    new = f"Release notes {uuid4().hex[:6]}"
    call(base_url, demo_project, "POST", "/deliverables", json={"title": old, "phase_id": phase})

    sign_in_to_demo(page, base_url, demo_project, "carol")
    form = control(page, "Edit a deliverable")
    form.get_by_label("Deliverable").select_option(label=f"{old} (draft)")
    form.get_by_label("New title").fill(new)
    send(page, "Edit a deliverable", "Save changes")

    expect(deliverable_row(page, new)).to_be_visible()
    event = last_event(base_url, demo_project)
    assert (event["type"], event["actor"], event["data"]["title"]) == (
        "DeliverableRetitled",
        "carol",
        new,
    )
    expect(page.locator("#audit-table tbody tr").first).to_contain_text(f"'{old}' to '{new}'")


def test_a_manager_cancels_and_reopens_milestones_with_reasons(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    phase = call(base_url, demo_project, "GET", "")["phases"][0]["id"]
    doomed = f"Pilot {uuid4().hex[:6]}"
    body = {"name": doomed, "phase_id": phase, "due": "2031-01-15", "deliverable_ids": []}
    call(base_url, demo_project, "POST", "/milestones", json=body)
    done = "Requirements approved"  # achieved in the demo's story

    # (Not `sign_in_to_demo`: this copy of the demo has a ninth milestone now.)
    page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
    page.get_by_label("Bearer token").fill(demo_project.tokens["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(9)
    cancel = control(page, "Cancel a milestone")
    choose(cancel.get_by_label("Milestone"), doomed)
    cancel.get_by_label("Reason").fill("The pilot was dropped from the contract")
    send(page, "Cancel a milestone", "Cancel milestone")
    expect(milestone_row(page, doomed)).to_contain_text("cancelled")
    cancelled = last_event(base_url, demo_project)
    assert (cancelled["type"], cancelled["data"]["reason"]) == (
        "MilestoneCancelled",
        "The pilot was dropped from the contract",
    )

    reopen = control(page, "Reopen a milestone")
    choose(reopen.get_by_label("Achieved milestone"), done)
    reopen.get_by_label("Reason").fill("The kick-off minutes were never signed")
    send(page, "Reopen a milestone", "Reopen milestone")
    expect(milestone_row(page, done)).not_to_contain_text("by alice")
    reopened = last_event(base_url, demo_project)
    assert (reopened["type"], reopened["actor"]) == ("MilestoneReopened", "alice")
