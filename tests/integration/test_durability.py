"""The service refuses to start on a PostgreSQL that could lose acknowledged events."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from api.bootstrap import bootstrap, upgrade
from api.preflight import StartupError
from api.settings import Settings
from tests.integration.scratch import scratch_database


def test_it_refuses_to_start_with_synchronous_commit_off_unless_told_to_accept_it(
    database_url: str,
) -> None:
    with scratch_database(database_url, "durability") as url:
        settings = Settings(pool_size=1, pool_max_overflow=0)
        upgrade(url, settings)
        name = conninfo_to_dict(url)["dbname"]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(
                    sql.Identifier(str(name))
                )
            )

        with pytest.raises(StartupError, match="synchronous_commit=off"):
            bootstrap(settings, url)

        accepted = Settings(pool_size=1, pool_max_overflow=0, allow_unsafe_durability=True)
        bootstrap(accepted, url).close()


def test_it_starts_on_a_durable_server(database_url: str) -> None:
    bootstrap(Settings(pool_size=1, pool_max_overflow=0), database_url).close()


@pytest.mark.parametrize(("raw", "allowed"), [("y", True), ("n", False), ("", False)])
def test_the_flag_is_read_from_the_environment(raw: str, allowed: bool) -> None:
    settings = Settings.from_env({"MILESTONES_ALLOW_UNSAFE_DURABILITY": raw})

    assert settings.allow_unsafe_durability is allowed
