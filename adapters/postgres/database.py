"""Turn the configured database into settings for the event store and pools for our own tables."""

from __future__ import annotations

import getpass
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from psycopg import Connection, sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool

from adapters.postgres.embedded import EmbeddedPostgres, ensure_database
from adapters.postgres.factory import FACTORY_TOPIC, RecentCheck, role_option
from adapters.postgres.recorder import RECORDER_TOPIC
from adapters.signing import KeySource

EMBEDDED_DBNAME = "milestones"

# The event store passes only these to psycopg (connect_timeout is superseded by
# MILESTONES_POOL_TIMEOUT); anything else in DATABASE_URL (sslmode, say) would be silently
# dropped, so it is refused and belongs in libpq's PG* variables instead. `options` is accepted
# only as `with_role` writes it: the event store's factory then sets the same role.
_ACCEPTED_PARAMETERS = frozenset(
    {"dbname", "host", "port", "user", "password", "connect_timeout", "options"}
)
_ROLE_OPTIONS = re.compile(r"^-c role=([a-z_][a-z0-9_]*)$")


class Settings(Protocol):
    """What the pools and the event store are configured with (the service's `api.settings`
    gives them, from the environment)."""

    @property
    def database_url(self) -> str | None: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def pool_size(self) -> int: ...

    @property
    def pool_max_overflow(self) -> int: ...

    @property
    def pool_timeout(self) -> float: ...

    @property
    def lock_timeout(self) -> int: ...

    @property
    def idle_in_transaction_timeout(self) -> int: ...

    @property
    def save_timeout(self) -> float: ...

    @property
    def signing_key_source(self) -> KeySource: ...


class DatabaseUrlError(ValueError):
    """DATABASE_URL cannot be turned into the event store's settings."""


def eventsourcing_env(database_url: str, settings: Settings) -> dict[str, str]:
    """Map a libpq URI or DSN to the environment of `eventsourcing.postgres`."""
    try:
        params = {key: str(value) for key, value in conninfo_to_dict(database_url).items()}
    except Exception as error:  # psycopg raises ProgrammingError; say which setting is wrong
        raise DatabaseUrlError(f"DATABASE_URL is not a valid libpq URI or DSN: {error}") from None
    unsupported = sorted(set(params) - _ACCEPTED_PARAMETERS)
    role = _ROLE_OPTIONS.match(params.get("options", "-c role=_"))
    if role is None:
        unsupported.append("options")
    if unsupported:
        raise DatabaseUrlError(
            f"DATABASE_URL parameters {', '.join(unsupported)} cannot be passed to the event "
            "store; set them as libpq environment variables (PGSSLMODE, ...) instead"
        )
    host = params.get("host")
    if not host:
        # libpq would guess a compiled-in socket directory; the event store needs it spelled out.
        raise DatabaseUrlError(
            "DATABASE_URL must name a host (or a socket directory with ?host=/path)"
        )
    user = params.get("user") or getpass.getuser()
    env = {
        "PERSISTENCE_MODULE": FACTORY_TOPIC,
        # The ledger's recorder: the library's, with the same-transaction records.
        "APPLICATION_RECORDER_TOPIC": RECORDER_TOPIC,
        "POSTGRES_DBNAME": params.get("dbname") or user,
        "POSTGRES_HOST": host,
        "POSTGRES_PORT": params.get("port") or "5432",
        "POSTGRES_USER": user,
        # The library insists on a password; an empty one lets trust and peer auth through.
        "POSTGRES_PASSWORD": params.get("password", ""),
        # The library reads whole seconds; never round a short timeout down to "wait forever".
        "POSTGRES_CONNECT_TIMEOUT": str(max(1, math.ceil(settings.pool_timeout))),
        "POSTGRES_POOL_SIZE": str(settings.pool_size),
        "POSTGRES_MAX_OVERFLOW": str(settings.pool_max_overflow),
        "POSTGRES_LOCK_TIMEOUT": str(settings.lock_timeout),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": str(settings.idle_in_transaction_timeout),
        # A save that stalls is cut after this long, releasing the ordering lock.
        "SAVE_TIMEOUT": str(settings.save_timeout),
        # Check a pooled connection before use: the server may have restarted under us.
        "POSTGRES_PRE_PING": "y",
        # Snapshots are signed with the deployment's key (adapters.postgres.snapshots).
        "SNAPSHOT_SIGNING_KEY": settings.signing_key_source.as_text(),
        "SNAPSHOT_SIGNING_KEY_CREATE": "y" if settings.signing_key_source.may_create else "",
    }
    if "options" in params and role is not None:
        env["POSTGRES_ROLE"] = role.group(1)
    return env


def with_role(database_url: str, role: str | None) -> str:
    """`database_url` whose sessions act as `role` from their first statement (libpq's startup
    options: `-c role=...`, i.e. SET ROLE); unchanged for None. Every connection made from it
    takes the role: our pools, the runner's LISTEN connection and the event store's pool."""
    if role is None:
        return database_url
    return make_conninfo(database_url, options=role_option(role))


def open_pool(database_url: str, settings: Settings) -> ConnectionPool[Connection[TupleRow]]:
    """Open a pool for the service's own tables (views, principals); close it when done.

    It fails within the pool timeout when the database is unreachable, rather than on first use.
    Its sessions end a transaction left idle for `idle_in_transaction_timeout` seconds, as the
    event store's do: a connection forgotten inside a transaction (a reader that went away)
    is given back to the server rather than held with its snapshot and locks.
    """
    pool: ConnectionPool[Connection[TupleRow]] = ConnectionPool(
        conninfo=database_url,
        min_size=1,
        max_size=settings.pool_size,
        timeout=settings.pool_timeout,
        kwargs={"autocommit": False},
        configure=session_settings(settings.idle_in_transaction_timeout),
        check=RecentCheck(),
        open=False,
        name="milestones",
    )
    try:
        pool.open(wait=True, timeout=settings.pool_timeout)
    except BaseException:
        pool.close()
        raise
    return pool


def pool_conninfo(pool: ConnectionPool[Any]) -> str:
    """The connection string `pool` connects with (psycopg_pool may hold a function of it)."""
    conninfo = pool.conninfo
    return conninfo() if callable(conninfo) else conninfo


def session_settings(idle_in_transaction: int) -> Callable[[Connection[TupleRow]], None]:
    """Each pooled session's settings: the idle limit, and no JIT (as the event store's: see
    `adapters.postgres.factory.NO_JIT`)."""
    statement = sql.SQL("SET idle_in_transaction_session_timeout = {}").format(
        sql.Literal(f"{idle_in_transaction}s")
    )

    def configure(conn: Connection[TupleRow]) -> None:
        conn.execute(statement)
        conn.execute("SET jit = off")
        conn.commit()  # a pooled connection is handed out outside any transaction

    return configure


def resolve_database_url(settings: Settings) -> tuple[str, EmbeddedPostgres | None]:
    """Return DATABASE_URL, or start the embedded server and return its `milestones` database.

    The caller owns the returned server and must `stop()` it on shutdown.
    """
    if settings.database_url:
        return settings.database_url, None
    server = EmbeddedPostgres(settings.data_dir / "pg")
    server_uri = server.start()
    try:
        return ensure_database(server_uri, EMBEDDED_DBNAME), server
    except BaseException:
        server.stop()
        raise
