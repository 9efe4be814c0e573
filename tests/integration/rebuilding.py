"""A rebuild in shares whose pages are slow, for tests that kill or fail one of its processes.

`python -m tests.integration.rebuilding URL` runs one (the projects view, pages of one
notification, two shares) in a process a test can SIGKILL; its helper process is the real one
(`projections.shares.Helpers`) with a view that pauses on every page, so that it is still
mid-share when its parent dies.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import psycopg

from api.bootstrap import Container, bootstrap
from api.settings import Settings
from projections.projects import ProjectsView
from projections.rebuild import Rebuild
from projections.shares import Filler

# How long each page of a slow view pauses: a share of 20 projects takes several seconds.
PAUSE = 0.2


class SlowProjectsView(ProjectsView):
    """The projects view, pausing before each page (as a page's fold does on a busy machine)."""

    def process_page(self, cur: psycopg.Cursor[Any], events: Sequence[Any]) -> None:
        time.sleep(PAUSE)
        super().process_page(cur, events)


class _Filler:
    def __init__(self, container: Container) -> None:
        self._container = container

    def fill_share(self, names: Sequence[str], share: int, shares: int, until: int) -> int:
        rebuild = Rebuild(
            self._container.ledger, self._container.pool, SlowProjectsView(), page_size=1
        )
        return rebuild.fill_share(share, shares, until)


@contextmanager
def slow_helper(database_url: str) -> Iterator[Filler]:
    """A helper process's filler (picklable through `partial`): the slow projects view."""
    container = bootstrap(_settings(), database_url, views=[SlowProjectsView()])
    try:
        yield _Filler(container)
    finally:
        container.close()


@contextmanager
def failing_helper(failed: str) -> Iterator[Filler]:
    """A helper that fails before its first page, leaving the file `failed` as it goes."""
    Path(failed).touch()
    raise RuntimeError("this helper failed before its first page")
    yield  # pragma: no cover - never reached


def slow_rebuild(
    container: Container, open_filler: Callable[[], Any], view: ProjectsView | None = None
) -> Rebuild:
    """The projects view rebuilt in two shares, pages of one notification."""
    return Rebuild(
        container.ledger,
        container.pool,
        view or SlowProjectsView(),
        page_size=1,
        shares=2,
        open_filler=open_filler,
    )


def _settings() -> Settings:
    return Settings(pool_size=2, pool_max_overflow=0)


def main(database_url: str) -> int:
    container = bootstrap(_settings(), database_url, views=[SlowProjectsView()])
    try:
        slow_rebuild(container, partial(slow_helper, database_url)).run()
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
