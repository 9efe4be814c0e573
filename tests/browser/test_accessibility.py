"""axe-core on the page in its main states (issue 19): no serious or critical WCAG 2.1 A/AA
violation — contrast, labels, names, landmarks, ARIA — for a manager at work, an auditor
reading, the past, a refusal and the sign-in page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.service import Demo

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    # The page's Content-Security-Policy allows its own scripts only; the test's axe is injected
    # around it (the page itself never loads axe).
    context = browser.new_context(viewport={"width": 1366, "height": 800}, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        yield page
    finally:
        context.close()


def serious_violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(path=str(AXE))
    found: list[dict[str, Any]] = page.evaluate(
        "tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })"
        ".then(r => r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ')) })))",
        TAGS,
    )
    return [v for v in found if v["impact"] in ("serious", "critical")]


def sign_in(page: Page, base_url: str, demo: Demo, who: str) -> None:
    page.goto(f"{base_url}/#/projects/{demo.project_id}")
    page.get_by_label("Bearer token").fill(demo.tokens[who])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Customer Portal Relaunch")).to_be_visible()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)
    expect(page.locator("#audit-table tbody tr").first).to_be_visible()


def test_the_sign_in_page_has_no_serious_violations(tab: Page, base_url: str) -> None:
    tab.goto(base_url + "/")
    expect(tab.get_by_label("Bearer token")).to_be_visible()

    assert serious_violations(tab) == []


def test_a_manager_at_work_including_a_refusal_has_no_serious_violations(
    tab: Page, base_url: str, demo_project: Demo
) -> None:
    sign_in(tab, base_url, demo_project, "alice")
    achieve = tab.get_by_role("group", name="Mark a milestone achieved")
    milestone = achieve.get_by_label("Milestone")
    label = next(
        t for t in milestone.locator("option").all_inner_texts() if t.startswith("Migration")
    )
    milestone.select_option(label=label)
    achieve.get_by_role("button", name="Mark achieved").click()
    expect(achieve.get_by_role("alert")).to_contain_text("R3")

    assert serious_violations(tab) == []


def test_an_auditor_in_the_past_and_the_projects_list_have_no_serious_violations(
    tab: Page, base_url: str, demo_project: Demo
) -> None:
    sign_in(tab, base_url, demo_project, "dave")
    tab.get_by_label("Plan as recorded after change").fill("20")
    expect(tab.locator("#as-of-text")).to_contain_text("version 20 of")

    assert serious_violations(tab) == []

    tab.get_by_role("link", name="Projects", exact=True).click()
    expect(tab.get_by_role("heading", name="Projects")).to_be_visible()

    assert serious_violations(tab) == []
