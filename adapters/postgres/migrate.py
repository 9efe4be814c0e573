"""`milestones db upgrade`: apply the pending SQL migrations of `migrations/` with yoyo.

Each migration is a numbered plain-SQL file, applied once, in its own transaction, and recorded
in yoyo's `_yoyo_migration` table; `post-apply.sql` runs after every upgrade (what a restore
loses, yoyo's own tables). yoyo's lock (a row in `yoyo_lock`) makes a second upgrade of the
same database wait until the first is done. The login must be a superuser, or a member of both
roles of `adapters.postgres.dbroles` that may create them; the files switch roles themselves
(`SET LOCAL ROLE`) so that each object gets its owner.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from psycopg.conninfo import conninfo_to_dict
from yoyo import get_backend, read_migrations

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# How long an upgrade waits for another one of the same database before it gives up. A lock
# left by an upgrade that was killed outright stays until `yoyo break-lock` (docs/operations.md).
LOCK_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Upgrade:
    """What an upgrade did: the migrations it applied, in order, and the newest one it knows."""

    applied: tuple[str, ...]
    head: str


def yoyo_uri(database_url: str) -> str:
    """yoyo's URI for a libpq URI or DSN, every parameter passed on to psycopg unchanged."""
    params = {key: str(value) for key, value in conninfo_to_dict(database_url).items()}
    return "postgresql+psycopg:///?" + urlencode(params)


def migrate(database_url: str, *, until: str | None = None) -> Upgrade:
    """Apply every pending migration (up to and including `until`, when given: a test's way to
    see an earlier schema), then the post-apply hook; a no-op on an up-to-date database but for
    the hook. Logs each migration it applies."""
    # yoyo logs each statement at INFO; one line per migration (ours) says enough.
    logging.getLogger("yoyo").setLevel(logging.WARNING)
    migrations = read_migrations(str(MIGRATIONS))
    if until is not None:
        migrations = migrations.filter(lambda migration: migration.id <= until)
    known = [migration.id for migration in migrations]
    backend = get_backend(yoyo_uri(database_url))
    try:
        with backend.lock(timeout=LOCK_TIMEOUT_SECONDS):
            unknown = _unknown_migrations(backend, {m.hash for m in migrations})
            if unknown:
                log.warning(
                    "the database has %d migration(s) this version does not know: it was "
                    "upgraded by a newer version",
                    unknown,
                )
            pending = backend.to_apply(migrations)
            for migration in pending:
                log.info("applying migration %s", migration.id)
                backend.apply_one(migration)
            backend.run_post_apply(migrations)
    finally:
        backend.connection.close()
    applied = tuple(migration.id for migration in pending)
    if applied:
        log.info("database at %s: %d migration(s) applied", known[-1], len(applied))
    else:
        log.info("database at %s: no migration to apply", known[-1])
    return Upgrade(applied=applied, head=known[-1])


def _unknown_migrations(backend: Any, hashes: set[str]) -> int:
    return sum(1 for applied in backend.get_applied_migration_hashes() if applied not in hashes)
