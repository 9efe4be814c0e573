"""The page's last details (issue 19): a file uploaded as evidence and downloaded again, an
upload over the limit refused in the limit's words, the audit trail following the slider, and a
past due date accepted with a warning beside the form."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from tests.browser.service import Demo
from tests.browser.test_daily_work import control, deliverable_row, send, sign_in_to_demo

pytestmark = pytest.mark.integration  # the service needs PostgreSQL too

LIMIT = 4096  # this module's MILESTONES_ARTIFACT_MAX_BYTES: small, so one upload can pass it


@pytest.fixture(scope="module")
def web_container(database_url: str) -> Iterator[Container]:
    """The service as in conftest, with a small artifact limit."""
    settings = Settings(pool_size=2, pool_max_overflow=2, artifact_max_bytes=LIMIT)
    upgrade(database_url, settings)
    built = bootstrap(settings, database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture
def refused_page(browser: Browser) -> Iterator[Page]:
    """A tab for a refusal: Chromium logs the 413 it is shown (expected); a script error fails."""
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


def call(base_url: str, demo: Demo, who: str, method: str, path: str, **kw: Any) -> Any:
    response = httpx.request(
        method,
        f"{base_url}/v1/projects/{demo.project_id}{path}",
        headers={"Authorization": f"Bearer {demo.tokens[who]}"},
        **kw,
    )
    response.raise_for_status()
    return response.json()


def new_deliverable(base_url: str, demo: Demo) -> tuple[str, str]:
    """A draft deliverable with one criterion, for this test alone (set up through the API)."""
    project = call(base_url, demo, "alice", "GET", "")
    title = f"Steering minutes {uuid4().hex[:6]}"
    body = {"title": title, "phase_id": project["phases"][0]["id"]}
    did = call(base_url, demo, "carol", "POST", "/deliverables", json=body)["deliverable_id"]
    criterion = "Minutes signed by the sponsor"
    call(base_url, demo, "carol", "POST", f"/deliverables/{did}/criteria", json={"text": criterion})
    return title, criterion


def test_a_contributor_uploads_a_file_as_evidence_and_downloads_the_same_bytes(
    page: Page, base_url: str, demo_project: Demo, tmp_path: Path
) -> None:
    title, criterion = new_deliverable(base_url, demo_project)
    minutes = b"Steering committee, 3 May: the sponsor signed the minutes.\n"
    digest = hashlib.sha256(minutes).hexdigest()

    sign_in_to_demo(page, base_url, demo_project, "carol")
    form = control(page, "Record evidence")
    form.get_by_label("Deliverable").select_option(label=f"{title} (draft)")
    form.get_by_label("Criterion").select_option(label=criterion)
    form.get_by_label("or a file").set_input_files(
        files=[FilePayload(name="minutes.txt", mimeType="text/plain", buffer=minutes)]
    )
    send(page, "Record evidence", "Record evidence")

    row = deliverable_row(page, title)
    expect(row).to_contain_text(f"artifact sha256 {digest[:12]}")
    history = call(base_url, demo_project, "carol", "GET", "/history?after_version=0&limit=1000")
    last = history["events"][-1]
    assert (last["type"], last["actor"]) == ("EvidenceRecorded", "carol")
    assert digest in str(last["data"])
    with page.expect_download() as download:
        row.get_by_role("link", name="download minutes.txt").click()
    saved = tmp_path / "downloaded"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "minutes.txt"
    assert saved.read_bytes() == minutes


def test_a_file_over_the_limit_is_refused_in_the_limits_words_and_nothing_is_recorded(
    refused_page: Page, base_url: str, demo_project: Demo
) -> None:
    page = refused_page
    title, criterion = new_deliverable(base_url, demo_project)
    before = call(base_url, demo_project, "alice", "GET", "")["version"]

    sign_in_to_demo(page, base_url, demo_project, "carol")
    form = control(page, "Record evidence")
    form.get_by_label("Deliverable").select_option(label=f"{title} (draft)")
    form.get_by_label("Criterion").select_option(label=criterion)
    form.get_by_label("or a file").set_input_files(
        files=[
            FilePayload(
                name="scan.bin", mimeType="application/octet-stream", buffer=b"x" * (LIMIT + 1)
            )
        ]
    )
    form.get_by_role("button", name="Record evidence").click()

    refusal = form.get_by_role("alert")
    expect(refusal).to_contain_text("The file was not uploaded")
    expect(refusal).to_contain_text(f"artifacts are limited to {LIMIT} bytes")
    assert call(base_url, demo_project, "alice", "GET", "")["version"] == before


def audit_versions(page: Page) -> list[int]:
    cells = page.locator("#audit-table tbody tr td:nth-child(5)").all_inner_texts()
    return [int(text) for text in cells]


def test_the_audit_trail_follows_the_slider_into_the_past_and_back(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    sign_in_to_demo(page, base_url, demo_project, "alice")
    now = call(base_url, demo_project, "alice", "GET", "")["version"]
    expect(page.locator("#audit-table tbody tr").first.locator("td").nth(4)).to_have_text(str(now))

    for _ in range(5):
        page.get_by_role("button", name="Earlier").click()
    shown = now - 5
    expect(page.locator("#as-of-text")).to_contain_text(f"version {shown} of {now}")
    expect(page.locator("#audit-count")).to_contain_text(f"up to version {shown}")
    versions = audit_versions(page)
    assert versions[0] == shown
    assert all(v <= shown for v in versions)
    assert versions == sorted(versions, reverse=True)

    page.get_by_role("button", name="Now").click()
    expect(page.locator("#audit-count")).not_to_contain_text("up to version")
    assert audit_versions(page)[0] == now


def test_a_past_due_date_is_kept_and_the_form_says_so(
    page: Page, base_url: str, demo_project: Demo
) -> None:
    sign_in_to_demo(page, base_url, demo_project, "alice")
    form = control(page, "Define a milestone")
    name = f"Kick-off held {uuid4().hex[:6]}"
    form.get_by_label("Name").fill(name)
    form.get_by_label("Phase").select_option(index=1)
    form.get_by_label("Due").fill((date.today() - timedelta(days=3)).isoformat())

    send(page, "Define a milestone", "Define milestone")

    warning = form.locator(".warning")
    expect(warning).to_contain_text("Warning: due")
    expect(warning).to_contain_text("is before today")
    expect(page.locator("#work-status")).to_contain_text(
        re.compile(r"done \(version \d+\)\. Warning")
    )
