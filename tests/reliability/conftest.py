"""Which reliability checks run, at what size: `--reliability=ci|quick|long` (default off).

- `off` (plain `pytest`, `make test`): every check here is deselected, so the everyday suite
  stays fast;
- `ci` (`make test-reliability-quick`, run by `.ci/run`): checks 1–6 at bounded sizes;
- `quick`: all ten checks at bounded sizes;
- `long` (`make test-reliability`): all ten at the issue's sizes.

The option must be given on a command line whose paths include tests/reliability (this
conftest then loads at start-up); `MILESTONES_RELIABILITY` sets the default.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import pytest

from adapters.postgres.embedded import EmbeddedPostgres
from api.bootstrap import upgrade
from api.settings import Settings
from application.access import GlobalRole
from tests.integration.processes import fresh_database
from tests.reliability.harness import Service, principal
from tests.reliability.sizes import LEVELS, Level, Sizes, sizes_for

# The figure each check measured, printed at the end of the run (the closing note quotes them).
FIGURES: list[str] = []

HERE = Path(__file__).resolve().parent
RELIABILITY_PG_DIR = HERE.parents[1] / ".milestones" / "reliability-pg"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--reliability",
        choices=LEVELS,
        default=os.environ.get("MILESTONES_RELIABILITY", "off"),
        help="run the reliability checks: ci (1–6, bounded), quick (all, bounded), long (all)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(n): the issue-7 reliability check this test is")
    config.addinivalue_line("markers", "service_env(**env): extra environment for `served`")


def level_of(config: pytest.Config) -> Level:
    value = config.getoption("reliability", default=None) or os.environ.get(
        "MILESTONES_RELIABILITY", "off"
    )
    assert value in LEVELS, f"--reliability must be one of {LEVELS}, not {value!r}"
    return cast(Level, value)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    level = level_of(config)
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if not item.path.is_relative_to(HERE):
            keep.append(item)
            continue
        marker = item.get_closest_marker("check")
        number = int(marker.args[0]) if marker else 0
        wanted = level in ("quick", "long") or (level == "ci" and 1 <= number <= 6)
        (keep if wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep


@pytest.fixture(scope="session")
def level(request: pytest.FixtureRequest) -> Level:
    return level_of(request.config)


@pytest.fixture(scope="session")
def reliability_server() -> Iterator[str]:
    """A URI on the PostgreSQL server the checks use: DATABASE_URL's if given, else an
    embedded server of their own, so that their load (and their connections: each service
    runs with the production pool sizes) never crowds other test sessions' shared server."""
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        yield given
        return
    server = EmbeddedPostgres(RELIABILITY_PG_DIR)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def own_database(reliability_server: str) -> Iterator[str]:
    """A new, empty database for one check, dropped afterwards."""
    with fresh_database(reliability_server) as url:
        yield url


@pytest.fixture(scope="session")
def sizes(level: Level) -> Sizes:
    return sizes_for(level)


Figure = Callable[[str], None]


@pytest.fixture
def figure(request: pytest.FixtureRequest) -> Figure:
    """Record the figure a check measured; printed in the run's summary, pass or fail."""

    def keep(text: str) -> None:
        FIGURES.append(f"{request.node.name}: {text}")

    return keep


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if FIGURES:
        terminalreporter.section("reliability figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass
class Served:
    """A running service on a database of its own, with a manager, a reviewer and an admin."""

    url: str
    service: Service
    manager: str
    manager_token: str
    reviewer: str
    reviewer_token: str
    admin_token: str
    workdir: Path

    @property
    def base(self) -> str:
        return self.service.base


def serve(url: str, workdir: Path, **env: str) -> Served:
    """Migrate `url`, make the principals and start `milestones serve` on it."""
    upgrade(url, Settings())
    tokens = {
        name: principal(url, name, role)
        for name, role in (
            ("manager", GlobalRole.MEMBER),
            ("reviewer", GlobalRole.MEMBER),
            ("admin", GlobalRole.ADMIN),
        )
    }
    service = Service(url, workdir, **env)
    service.start()
    return Served(
        url=url,
        service=service,
        manager="manager",
        manager_token=tokens["manager"],
        reviewer="reviewer",
        reviewer_token=tokens["reviewer"],
        admin_token=tokens["admin"],
        workdir=workdir,
    )


@pytest.fixture
def served(own_database: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Served]:
    """`milestones serve` on a spare port against a fresh database; stopped afterwards."""
    marker = request.node.get_closest_marker("service_env")
    running = serve(own_database, tmp_path, **(marker.kwargs if marker else {}))
    try:
        yield running
    finally:
        running.service.kill()  # nothing to drain: the check has read what it needs
