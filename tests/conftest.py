"""Test-wide fixtures: a fresh PostgreSQL database per session, and the `integration` marker."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from adapters.postgres.embedded import EmbeddedPostgres, drop_database, ensure_database

REPO = Path(__file__).resolve().parents[1]
INTEGRATION_DIR = REPO / "tests" / "integration"
TEST_PG_DIR = REPO / ".milestones" / "test-pg"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration/, so `-m "not integration"` skips PostgreSQL."""
    for item in items:
        if item.path.is_relative_to(INTEGRATION_DIR):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A URI for a fresh, empty database: DATABASE_URL as given (CI makes it fresh), else one
    created for this session on the embedded server and dropped afterwards."""
    given = os.environ.get("DATABASE_URL", "").strip()
    if given:
        yield given
        return
    server = EmbeddedPostgres(TEST_PG_DIR)
    server_uri = server.start()
    dbname = f"ml_test_{os.getpid()}_{time.time_ns()}"
    try:
        yield ensure_database(server_uri, dbname)
    finally:
        try:
            drop_database(server_uri, dbname)
        finally:
            server.stop()


@pytest.fixture(scope="session")
def upgraded_database(database_url: str) -> str:
    """The session's database with every table, role and grant (`milestones db upgrade`)."""
    # Imported here: unit tests that need no database need not import the service.
    from api.bootstrap import upgrade
    from api.settings import Settings

    upgrade(database_url, Settings(pool_size=2, pool_max_overflow=2))
    return database_url
