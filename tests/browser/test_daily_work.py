"""A day of work through the web page alone: each person signs in with their own token and
uses only the controls their role is shown; the API's history says what was recorded."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from adapters.postgres.principals import TokenScope
from api.bootstrap import Container
from tests.browser.service import Demo

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too

PAYMENT = "Payment module"
PAYMENT_MILESTONE = "Payment module ready"


@pytest.fixture
def tabs(browser: Browser, base_url: str) -> Iterator[list[Page]]:
    """Two independent browsers' worth of tabs (own storage each); fails on any script error."""
    contexts = [browser.new_context(viewport={"width": 1366, "height": 800}) for _ in range(2)]
    errors: list[str] = []
    pages = []
    for context in contexts:
        tab = context.new_page()
        tab.on("pageerror", lambda error: errors.append(str(error)))
        tab.set_default_timeout(10_000)
        pages.append(tab)
    try:
        yield pages
    finally:
        for context in contexts:
            context.close()
    assert errors == [], f"the page logged errors: {errors}"


def sign_in_to_demo(page: Page, base_url: str, demo: Demo, who: str) -> None:
    page.goto(f"{base_url}/#/projects/{demo.project_id}")
    page.get_by_label("Bearer token").fill(demo.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Customer Portal Relaunch")).to_be_visible()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()


def control(page: Page, name: str) -> Locator:
    """One command's form, found as a user finds it: the group named by its legend."""
    return page.get_by_role("group", name=name, exact=True)


def deliverable_row(page: Page, title: str) -> Locator:
    return page.locator("#deliverables-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=title)
    )


def milestone_row(page: Page, name: str) -> Locator:
    return page.locator("#schedule-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=name, exact=True)
    )


def events_since(base_url: str, demo: Demo, after: int) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base_url}/v1/projects/{demo.project_id}/history",
        params={"after_version": after, "limit": 1000},
        headers={"Authorization": f"Bearer {demo.tokens['alice']}"},
    )
    response.raise_for_status()
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def version(base_url: str, demo: Demo) -> int:
    response = httpx.get(
        f"{base_url}/v1/projects/{demo.project_id}",
        headers={"Authorization": f"Bearer {demo.tokens['alice']}"},
    )
    response.raise_for_status()
    return int(response.json()["version"])


def choose(select: Locator, starting: str) -> None:
    """Pick the option whose text starts with `starting` (labels carry a state or a date)."""
    options = select.locator("option").all_inner_texts()
    chosen = [text for text in options if text.startswith(starting)]
    assert len(chosen) == 1, f"{starting!r} among {options}"
    select.select_option(label=chosen[0])


def send(page: Page, form: str, button: str) -> None:
    control(page, form).get_by_role("button", name=button).click()
    expect(page.locator("#work-status")).to_contain_text(f"{form}: done")


def test_a_day_of_work_through_the_page_alone(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    start = version(base_url, demo_project)
    new_due = date.today() + timedelta(days=12)

    # Morning: the contributor records evidence for both criteria and submits.
    sign_in_to_demo(page, base_url, demo_project, "carol")
    expect(control(page, "Approve")).to_have_count(0)
    expect(control(page, "Mark a milestone achieved")).to_have_count(0)
    evidence = control(page, "Record evidence")
    for criterion, proof in (
        ("PCI checklist complete", "https://docs.example.com/payment/pci.pdf"),
        ("Load test at 200 payments/s", "Load test run 14: 240 payments/s sustained"),
    ):
        evidence.get_by_label("Deliverable").select_option(label=f"{PAYMENT} (draft)")
        evidence.get_by_label("Criterion").select_option(label=criterion)
        evidence.get_by_label("Evidence").fill(proof)
        send(page, "Record evidence", "Record evidence")
    expect(deliverable_row(page, PAYMENT)).to_contain_text("2 of 2")
    submit = control(page, "Submit for review")
    submit.get_by_label("Deliverable").select_option(label=f"{PAYMENT} (draft)")
    submit.get_by_label("Note").fill("ready for review")
    send(page, "Submit for review", "Submit for review")
    expect(deliverable_row(page, PAYMENT)).to_contain_text("in review")
    sign_out(page)

    # The reviewer rejects with a reason; the contributor submits again; the reviewer approves.
    sign_in_to_demo(page, base_url, demo_project, "bob")
    expect(control(page, "Reschedule a milestone")).to_have_count(0)
    reject = control(page, "Reject")
    reject.get_by_label("Deliverable in review").select_option(label=f"{PAYMENT} (in review)")
    reject.get_by_label("Reason").fill("The load test must run against the production database")
    send(page, "Reject", "Reject")
    expect(deliverable_row(page, PAYMENT)).to_contain_text("draft")
    sign_out(page)

    sign_in_to_demo(page, base_url, demo_project, "carol")
    submit.get_by_label("Deliverable").select_option(label=f"{PAYMENT} (draft)")
    send(page, "Submit for review", "Submit for review")
    sign_out(page)

    sign_in_to_demo(page, base_url, demo_project, "bob")
    approve = control(page, "Approve")
    approve.get_by_label("Deliverable in review").select_option(label=f"{PAYMENT} (in review)")
    send(page, "Approve", "Approve")
    expect(deliverable_row(page, PAYMENT)).to_contain_text("approved")
    sign_out(page)

    # Evening: the manager moves the milestone with a reason, then marks it achieved.
    sign_in_to_demo(page, base_url, demo_project, "alice")
    reschedule = control(page, "Reschedule a milestone")
    choose(reschedule.get_by_label("Milestone"), PAYMENT_MILESTONE)
    reschedule.get_by_label("New due date").fill(new_due.isoformat())
    reschedule.get_by_label("Reason").fill("Payment provider moved the certification slot")
    send(page, "Reschedule a milestone", "Reschedule")
    achieve = control(page, "Mark a milestone achieved")
    choose(achieve.get_by_label("Milestone"), PAYMENT_MILESTONE)
    send(page, "Mark a milestone achieved", "Mark achieved")
    row = milestone_row(page, PAYMENT_MILESTONE)
    expect(row).to_contain_text("by alice")

    recorded = [(e["type"], e["actor"]) for e in events_since(base_url, demo_project, start)]
    assert recorded == [
        ("EvidenceRecorded", "carol"),
        ("EvidenceRecorded", "carol"),
        ("DeliverableSubmitted", "carol"),
        ("DeliverableRejected", "bob"),
        ("DeliverableSubmitted", "carol"),
        ("DeliverableApproved", "bob"),
        ("MilestoneRescheduled", "alice"),
        ("MilestoneAchieved", "alice"),
    ]


def test_each_role_sees_only_the_controls_it_may_use(
    tabs: list[Page], base_url: str, demo_project: Demo
) -> None:
    page = tabs[0]
    shown = {}
    for who in ("carol", "bob", "alice", "dave"):
        sign_in_to_demo(page, base_url, demo_project, who)
        shown[who] = page.locator("#work .work-form:visible legend").all_inner_texts()
        sign_out(page)

    contributor = [
        "Define a deliverable",
        "Add a completion criterion",
        "Record evidence",
        "Submit for review",
        "Edit a deliverable",
    ]
    reviewer = [*contributor, "Approve", "Reject"]
    manager = [
        *reviewer,
        "Define a milestone",
        "Link a deliverable to a milestone",
        "Reschedule a milestone",
        "Mark a milestone achieved",
        "Set a phase's exit gate",
        "Record a gate decision",
        "Cancel a deliverable",
        "Reopen a deliverable",
        "Cancel a milestone",
        "Reopen a milestone",
    ]
    assert shown == {"carol": contributor, "bob": reviewer, "alice": manager, "dave": []}


def test_a_refusal_shows_the_rules_words_and_changes_nothing(
    tabs: list[Page], base_url: str, demo_project: Demo
) -> None:
    page = tabs[0]
    sign_in_to_demo(page, base_url, demo_project, "alice")
    before = version(base_url, demo_project)
    achieve = control(page, "Mark a milestone achieved")
    choose(achieve.get_by_label("Milestone"), "Migration rehearsal complete")

    achieve.get_by_role("button", name="Mark achieved").click()

    refusal = achieve.get_by_role("alert")
    expect(refusal).to_contain_text("R3")
    expect(refusal).to_contain_text("Customer data migration")
    assert version(base_url, demo_project) == before
    expect(milestone_row(page, "Migration rehearsal complete")).not_to_contain_text("by alice")


def test_two_people_editing_see_a_conflict_not_a_silent_overwrite(
    tabs: list[Page], base_url: str, demo_project: Demo
) -> None:
    first, second = tabs
    sign_in_to_demo(first, base_url, demo_project, "alice")
    sign_in_to_demo(second, base_url, demo_project, "alice")
    milestone = "Go-live"
    for page, days, reason in (
        (first, 70, "Vendor contract signed late"),
        (second, 75, "Training rooms booked later"),
    ):
        form = control(page, "Reschedule a milestone")
        choose(form.get_by_label("Milestone"), milestone)
        form.get_by_label("New due date").fill((date.today() + timedelta(days=days)).isoformat())
        form.get_by_label("Reason").fill(reason)
    send(first, "Reschedule a milestone", "Reschedule")
    before = version(base_url, demo_project)

    control(second, "Reschedule a milestone").get_by_role("button", name="Reschedule").click()

    refusal = control(second, "Reschedule a milestone").get_by_role("alert")
    expect(refusal).to_contain_text("Someone changed this project since you loaded it")
    assert version(base_url, demo_project) == before
    # The stale tab now shows the first person's date, and sending again is a choice made on it.
    first_due = (date.today() + timedelta(days=70)).strftime("%-d %b %Y")
    expect(milestone_row(second, milestone)).to_contain_text(first_due)
    send(second, "Reschedule a milestone", "Reschedule")
    assert version(base_url, demo_project) == before + 1


def test_a_deliverable_is_defined_with_the_keyboard_alone(
    tabs: list[Page], base_url: str, demo_project: Demo
) -> None:
    page = tabs[0]
    sign_in_to_demo(page, base_url, demo_project, "carol")
    form = control(page, "Define a deliverable")
    form.get_by_label("Title").focus()

    page.keyboard.type("Release notes")
    page.keyboard.press("Tab")  # the phase
    page.keyboard.press("ArrowDown")  # the first phase, Discovery
    page.keyboard.press("Tab")  # the kind: "other" stays
    page.keyboard.press("Tab")  # the owner
    page.keyboard.type("carol")
    page.keyboard.press("Enter")

    expect(page.locator("#work-status")).to_contain_text("Define a deliverable: done")
    row = deliverable_row(page, "Release notes")
    expect(row).to_contain_text("Discovery")
    expect(row).to_contain_text("carol")
    expect(form.get_by_label("Owner")).to_be_focused()  # the focus stayed where the work is


def test_a_read_only_token_of_a_manager_is_shown_no_forms(
    tabs: list[Page], base_url: str, demo_project: Demo, web_container: Container
) -> None:
    page = tabs[0]
    reading = web_container.principals.create_token("alice", TokenScope(read_only=True))
    page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
    page.get_by_label("Bearer token").fill(reading)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)

    expect(page.locator("#signed-in-as")).to_have_text(
        "Signed in as alice (member, read-only token)"
    )
    expect(page.locator("#work")).to_be_hidden()
