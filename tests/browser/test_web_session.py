"""The page as people share and carry it (issue 19): who is signed in, the token across tabs,
a shared address of a past instant, a 360 px phone, the printed status report, one time zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from tests.browser.service import Demo

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too

REVIEWED = "Architecture decision record"


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1366, "height": 800})
    errors: list[str] = []
    made.on("weberror", lambda error: errors.append(str(error.error)))
    made.set_default_timeout(10_000)
    try:
        yield made
    finally:
        made.close()
    assert errors == [], f"the page logged errors: {errors}"


def sign_in(page: Page, base_url: str, token: str, *, remember: bool = False) -> None:
    if not page.url.startswith(base_url):
        page.goto(base_url + "/")
    page.get_by_label("Bearer token").fill(token)
    if remember:
        page.get_by_label("Keep me signed in in every tab of this browser").check()
    page.get_by_role("button", name="Sign in").click()


def open_project(page: Page, demo: Demo) -> None:
    expect(page.get_by_role("heading", name="Customer Portal Relaunch")).to_be_visible()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)


def deliverable_row(page: Page, title: str) -> Any:
    return page.locator("#deliverables-table tbody tr").filter(
        has=page.get_by_role("rowheader", name=title)
    )


def test_the_page_says_who_is_signed_in_and_signs_out(
    context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    page = context.new_page()
    sign_in(page, base_url, demo_project.tokens["dave"])

    expect(page.locator("#signed-in-as")).to_have_text("Signed in as dave (auditor)")
    page.get_by_role("button", name="Sign out").click()

    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("#signed-in-as")).to_be_hidden()
    stored = page.evaluate("[sessionStorage.length, localStorage.length]")
    assert stored == [0, 0]


def test_a_token_kept_for_every_tab_opens_a_new_tab_and_signs_out_everywhere(
    context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    first = context.new_page()
    sign_in(first, base_url, demo_project.tokens["alice"], remember=True)
    expect(first.get_by_role("heading", name="Projects")).to_be_visible()

    second = context.new_page()
    second.goto(f"{base_url}/#/projects/{demo_project.project_id}")

    open_project(second, demo_project)
    expect(second.locator("#signed-in-as")).to_have_text("Signed in as alice (member)")

    first.get_by_role("button", name="Sign out").click()

    expect(second.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(second.locator("#sign-in-error")).to_have_text("Signed out in another tab.")


def test_without_keep_signed_in_a_new_tab_asks_again(
    context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    first = context.new_page()
    sign_in(first, base_url, demo_project.tokens["alice"])
    expect(first.get_by_role("heading", name="Projects")).to_be_visible()

    second = context.new_page()
    second.goto(base_url + "/")

    expect(second.get_by_role("heading", name="Sign in")).to_be_visible()


def test_a_shared_address_of_a_past_instant_shows_that_plan_to_someone_else(
    browser: Browser, context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    events = httpx.get(
        f"{base_url}/v1/projects/{demo_project.project_id}/history",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {demo_project.tokens['alice']}"},
    ).json()["events"]
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
    before = events[approval["version"] - 2]  # the change just before the approval
    page = context.new_page()
    page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
    sign_in(page, base_url, demo_project.tokens["alice"])
    open_project(page, demo_project)

    page.get_by_label("Plan as recorded after change").fill(str(before["version"]))
    expect(deliverable_row(page, REVIEWED)).to_contain_text("in review")
    expect(page).to_have_url(re.compile("as_of="))
    shared = page.url
    assert unquote(shared.split("as_of=")[1]) == before["occurred_at"]

    elsewhere = browser.new_context(viewport={"width": 1366, "height": 800})
    try:
        other = elsewhere.new_page()
        other.goto(shared)
        sign_in(other, base_url, demo_project.tokens["bob"])
        open_project(other, demo_project)

        expect(other.locator("#as-of-text")).to_contain_text(f"version {before['version']} of")
        expect(deliverable_row(other, REVIEWED)).to_contain_text("in review")
        expect(other.locator("#work-past")).to_be_visible()  # the forms wait for "Now"
        other.get_by_role("button", name="Now").click()
        expect(deliverable_row(other, REVIEWED)).to_contain_text("approved")
        assert "as_of" not in other.url
    finally:
        elsewhere.close()


def test_at_360_px_nothing_scrolls_sideways_and_the_slider_stays_on_screen(
    browser: Browser, base_url: str, demo_project: Demo
) -> None:
    phone = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = phone.new_page()
        page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
        sign_in(page, base_url, demo_project.tokens["alice"])
        open_project(page, demo_project)

        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"the page is {width} px wide at 360 px"
        for name in ("One change earlier", "One change later", "Now"):
            box = page.get_by_role("button", name=name).bounding_box()
            assert box is not None, name
            assert 0 <= box["x"] <= box["x"] + box["width"] <= 360, name
        box = page.get_by_role("button", name="Record evidence").bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 360
    finally:
        phone.close()


def test_printed_the_page_is_a_status_report_without_controls(
    context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    page = context.new_page()
    page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
    sign_in(page, base_url, demo_project.tokens["alice"])
    open_project(page, demo_project)

    page.emulate_media(media="print")

    for shown in ("#timeline svg", "#schedule-table", "#deliverables-table", "#as-of-text"):
        expect(page.locator(shown)).to_be_visible()
    for hidden in ("#work", "#as-of", "#audit-table", ".top-bar", "#audit-filters"):
        expect(page.locator(hidden)).to_be_hidden()
    assert page.locator("button:visible").count() == 0


def test_one_time_zone_on_the_page_the_projects(
    context: BrowserContext, base_url: str, demo_project: Demo
) -> None:
    page = context.new_page()
    page.goto(f"{base_url}/#/projects/{demo_project.project_id}")
    sign_in(page, base_url, demo_project.tokens["alice"])
    open_project(page, demo_project)

    expect(page.locator("#project-meta")).to_contain_text("time zone Europe/Berlin")
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()
    zones = page.locator("#audit-table tbody tr td:first-child").evaluate_all(
        "cells => [...new Set(cells.map(c => c.textContent.split(' ').pop()))]"
    )
    slider_zone = page.locator("#as-of-text").inner_text()
    assert len(zones) == 1, zones
    assert zones[0] in ("CET", "CEST"), zones
    assert "UTC" not in slider_zone
    expect(page.get_by_label("From (date in Europe/Berlin)")).to_be_visible()
