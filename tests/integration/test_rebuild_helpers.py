"""The processes of a rebuild in shares: a helper never outlives its rebuild, and a helper's
failure ends the rebuild while its parent is still applying its own share."""

from __future__ import annotations

import os
import signal
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from api.bootstrap import bootstrap, build_ledger, upgrade
from api.settings import Settings
from application.access import Principal
from application.ports import share_of
from projections.rebuild import RebuildError
from tests.integration.processes import (
    alive,
    children,
    fresh_database,
    service_env,
    spawn,
    wait_until,
)
from tests.integration.rebuilding import PAUSE, SlowProjectsView, failing_helper, slow_rebuild

PROJECTS = 40  # about 20 in each of the two shares: several seconds of slow pages each


def _projects(url: str) -> list[UUID]:
    """PROJECTS new projects on the (fresh, upgraded) database `url`; their ids."""
    ledger = build_ledger(url, Settings(pool_size=2, pool_max_overflow=0))
    try:
        manager = f"helpers-{uuid4().hex[:8]}"
        return [
            ledger.create_project(Principal(manager), name=f"Share {n}").project_id
            for n in range(PROJECTS)
        ]
    finally:
        ledger.close()


def _shadow_projects(url: str) -> set[UUID]:
    """The projects the rebuild has written into the projects view's shadow table so far."""
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('rebuild_projects.projects')").fetchone() == (None,):
            return set()
        return {row[0] for row in conn.execute("SELECT project_id FROM rebuild_projects.projects")}


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_helper_whose_rebuild_was_sigkilled_stops_before_its_next_page(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        upgrade(url, Settings(pool_size=2, pool_max_overflow=0))
        helper_share = {pid for pid in _projects(url) if share_of(pid, 2) == 1}
        rebuild = spawn(
            [sys.executable, "-m", "tests.integration.rebuilding", url],
            service_env(url),
            tmp_path / "rebuild.log",
        )
        try:
            helpers = wait_until(lambda: children(rebuild.pid), 60, "the helper process")
            wait_until(lambda: _shadow_projects(url) & helper_share, 60, "the helper's first page")
        finally:
            os.kill(rebuild.pid, signal.SIGKILL)  # no `finally` of its own runs
            rebuild.wait()
        at_kill = _shadow_projects(url) & helper_share
        wait_until(lambda: not any(map(alive, helpers)), 30, "the helper to exit")
        written = _shadow_projects(url) & helper_share
        time.sleep(5 * PAUSE)  # several of its pages' time: nothing more may arrive
        later = _shadow_projects(url) & helper_share

    print(
        f"\nhelper's share {len(helper_share)} projects: {len(at_kill)} in the shadow at the "
        f"parent's SIGKILL, {len(written)} once the helper exited"
    )
    assert later == written
    # It stopped before its next page: at most the page it was applying (one notification,
    # so one project) went in after the kill, not the rest of its share.
    assert len(written - at_kill) <= 1
    assert len(written) < len(helper_share)


class _WaitingProjectsView(SlowProjectsView):
    """The parent's own share: its first page waits until the helper has failed, then every
    page is counted."""

    def __init__(self, failed: Path) -> None:
        self.failed = failed
        self.pages = 0

    def process_page(self, cur: psycopg.Cursor[Any], events: Sequence[Any]) -> None:
        if self.pages == 0:
            wait_until(self.failed.exists, 60, "the helper to fail")
        self.pages += 1
        super().process_page(cur, events)


def test_a_helper_failing_early_fails_the_rebuild_before_the_parent_applied_its_share(
    database_url: str, tmp_path: Path
) -> None:
    with fresh_database(database_url) as url:
        upgrade(url, Settings(pool_size=2, pool_max_overflow=0))
        own_share = [pid for pid in _projects(url) if share_of(pid, 2) == 0]
        container = bootstrap(Settings(pool_size=2, pool_max_overflow=0), url)
        try:
            container.runner.catch_up()
            with container.pool.connection() as conn:
                live = conn.execute("SELECT p::text FROM projects p ORDER BY 1").fetchall()
            failed = tmp_path / "failed"
            view = _WaitingProjectsView(failed)

            with pytest.raises(RebuildError, match="failed before its first page"):
                slow_rebuild(container, partial(failing_helper, str(failed)), view).run()

            with container.pool.connection() as conn:
                assert conn.execute("SELECT p::text FROM projects p ORDER BY 1").fetchall() == live
        finally:
            container.close()

    print(f"\nthe parent applied {view.pages} pages of a share of {len(own_share)} projects")
    # Each project's creation is one page or more (pages of one notification).
    assert view.pages < len(own_share)
