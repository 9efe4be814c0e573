"""Refreshes the pictures in docs/: the demo's timeline (SVG and PNG) and the web view's pages.

Run `.venv/bin/python -m tests.browser.screenshots` (DATABASE_URL, else the embedded server).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import FloatRect, Page, expect, sync_playwright

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database
from api.bootstrap import bootstrap, upgrade
from api.settings import Settings
from tests.browser.service import CHROMIUM, CHROMIUM_ARGS, Demo, demo, serve

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
PROJECT_CLIP: FloatRect = {"x": 0, "y": 0, "width": 1366, "height": 1560}


@contextmanager
def database() -> Iterator[str]:
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        yield given
        return
    server = EmbeddedPostgres(REPO / ".milestones" / "test-pg")
    server_uri = server.start()
    name = f"ml_screens_{os.getpid()}_{time.time_ns()}"
    try:
        yield ensure_database(server_uri, name)
    finally:
        try:
            drop_database(server_uri, name)
        finally:
            server.stop()


def first_achievement(base_url: str, loaded: Demo) -> int:
    events = httpx.get(
        f"{base_url}/v1/projects/{loaded.project_id}/history",
        params={"limit": 1000},
        headers={"Authorization": f"Bearer {loaded.tokens['alice']}"},
    ).json()["events"]
    version: int = next(e["version"] for e in events if e["type"] == "MilestoneAchieved")
    return version


def shoot(page: Page, base_url: str, loaded: Demo) -> None:
    pid = loaded.project_id
    page.goto(base_url + "/")
    page.get_by_label("Bearer token").fill(loaded.tokens["alice"])
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Projects")).to_be_visible()
    page.screenshot(
        path=DOCS / "web-projects.png", clip={"x": 0, "y": 0, "width": 1366, "height": 260}
    )

    page.locator(f"a[href='#/projects/{pid}']").click()
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)
    # The top of the page: time travel, timeline, alignment warnings and the schedule.
    page.screenshot(path=DOCS / "web-project.png", clip=PROJECT_CLIP, full_page=True)

    # The plan just before the first milestone was achieved.
    before = first_achievement(base_url, loaded) - 1
    page.get_by_label("Plan as recorded after change").fill(str(before))
    expect(page.locator(f"#project-page[data-version='{before}']")).to_be_attached()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=DOCS / "web-time-travel.png")

    page.get_by_role("button", name="Now").click()
    page.get_by_label("Actor").select_option("bob")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.locator("#audit-table tbody td.actor").first).to_have_text("bob")
    page.locator("section[aria-labelledby='audit-title']").screenshot(path=DOCS / "web-audit.png")

    # The daily work: the forms a manager is shown (issue 19), without the sticky slider that
    # an element's screenshot would otherwise show over them.
    sticky = "document.getElementById('time-travel').style.position"
    page.evaluate(f"{sticky} = 'static'")
    page.locator("#work").screenshot(path=DOCS / "web-work.png")
    page.evaluate(f"{sticky} = ''")

    # Printed: the status report, without controls (issue 19).
    page.emulate_media(media="print")
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=DOCS / "web-print.png", full_page=True)
    page.emulate_media(media="screen")

    # A 360 px phone: the top of the project page (issue 19).
    page.set_viewport_size({"width": 360, "height": 740})
    page.evaluate("window.scrollTo(0, 0)")
    expect(page.locator("#timeline svg g.milestone")).to_have_count(8)
    page.screenshot(path=DOCS / "web-phone.png")


def main() -> int:
    if not CHROMIUM.exists():
        print(f"Debian's Chromium is missing at {CHROMIUM}: apt-get install chromium")
        return 1
    settings = Settings(pool_size=2, pool_max_overflow=2)
    with database() as url:
        upgrade(url, settings)
        container = bootstrap(settings, url)
        try:
            with serve(container) as base_url:
                loaded = demo(container, base_url)
                svg = httpx.get(
                    f"{base_url}/v1/projects/{loaded.project_id}/timeline.svg",
                    headers={"Authorization": f"Bearer {loaded.tokens['alice']}"},
                )
                svg.raise_for_status()
                (DOCS / "timeline-demo.svg").write_text(svg.text)
                with sync_playwright() as playwright:
                    browser = playwright.chromium.launch(
                        executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
                    )
                    page = browser.new_page(viewport={"width": 1366, "height": 800})
                    page.set_content(f"<body style='margin:0'>{svg.text}</body>")
                    page.locator("svg").screenshot(path=DOCS / "timeline-demo.png")
                    shoot(page, base_url, loaded)
                    browser.close()
        finally:
            container.close()
    print(f"wrote {', '.join(sorted(p.name for p in DOCS.glob('*.png')))} and timeline-demo.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
