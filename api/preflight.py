"""Checks the service makes once before it starts: durable settings, and the role to act as."""

from __future__ import annotations

import logging
from typing import Any

import psycopg

from adapters.postgres.dbroles import RoleError, session_role
from api.settings import Settings

log = logging.getLogger(__name__)

# Each must be on, or an acknowledged command could be lost (fsync, synchronous_commit) or a
# crash could leave torn pages (full_page_writes).
DURABILITY_SETTINGS = ("fsync", "synchronous_commit", "full_page_writes")


class StartupError(RuntimeError):
    """The service refuses to start; the message says what to change."""


def unsafe_settings(conn: psycopg.Connection[Any]) -> dict[str, str]:
    """The durability settings that are off, with their values, as this session sees them."""
    rows = conn.execute(
        "SELECT name, setting FROM pg_settings WHERE name = ANY(%s)", (list(DURABILITY_SETTINGS),)
    ).fetchall()
    return {str(name): str(value) for name, value in rows if str(value) == "off"}


def preflight(database_url: str, settings: Settings) -> str | None:
    """Refuse unsafe durability (unless allowed) and return the role sessions take on."""
    try:
        with psycopg.connect(
            database_url, connect_timeout=max(1, round(settings.pool_timeout))
        ) as conn:
            unsafe = unsafe_settings(conn)
            role = session_role(conn)
    except RoleError as error:
        raise StartupError(str(error)) from None
    if unsafe:
        listed = ", ".join(f"{name}={value}" for name, value in sorted(unsafe.items()))
        if not settings.allow_unsafe_durability:
            raise StartupError(
                f"PostgreSQL is not durable ({listed}): an acknowledged event could be lost. "
                "Turn these on, or set MILESTONES_ALLOW_UNSAFE_DURABILITY=y to accept it."
            )
        log.warning("starting on a PostgreSQL that is not durable (%s), as allowed", listed)
    return role
