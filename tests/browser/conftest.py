"""Fixtures for the browser tests: the service in a thread, the demo, a Chromium page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings
from tests.browser.service import CHROMIUM, CHROMIUM_ARGS, Demo, demo, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(scope="module")
def web_container(database_url: str) -> Iterator[Container]:
    # Module scope: this container's projection runner stops with the module, so the
    # integration tests' runner gets every view back.
    settings = Settings(pool_size=2, pool_max_overflow=2)
    upgrade(database_url, settings)
    built = bootstrap(settings, database_url)
    try:
        yield built
    finally:
        built.close()


@pytest.fixture(scope="module")
def base_url(web_container: Container) -> Iterator[str]:
    with serve(web_container) as url:
        yield url


@pytest.fixture(scope="module")
def demo_project(web_container: Container, base_url: str) -> Demo:
    return demo(web_container, base_url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's Chromium is missing at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, base_url: str) -> Iterator[Page]:
    """A fresh tab (own session storage) on a laptop-sized screen; fails on any script error."""
    context = browser.new_context(viewport={"width": 1366, "height": 800}, accept_downloads=True)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console", lambda msg: errors.append(msg.text) if _unexpected(msg.text, msg.type) else None
    )
    tab.set_default_timeout(10_000)
    try:
        yield tab
    finally:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


def _unexpected(text: str, kind: str) -> bool:
    # A refused token is a 401 the page handles (it asks to sign in again); Chromium logs it.
    return kind == "error" and "status of 401" not in text
