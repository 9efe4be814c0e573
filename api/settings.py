"""Runtime configuration of Milestone Ledger, read once from the environment.

Every knob is an environment variable; nothing else configures the service.

| variable | default | meaning |
| --- | --- | --- |
| `DATABASE_URL` | unset | libpq URI or DSN of PostgreSQL; unset starts the embedded one |
| `MILESTONES_DATA_DIR` | `./.milestones` | local state; the embedded cluster is in `<dir>/pg` |
| `MILESTONES_HOST` | `127.0.0.1` | address `milestones serve` listens on |
| `MILESTONES_PORT` | `8000` | port `milestones serve` listens on |
| `MILESTONES_READ_URLS` | unset | libpq URIs of streaming replicas for reads (comma or space) |
| `MILESTONES_READ_MAX_LAG_SECONDS` | `5` | seconds a replica may lag before reads leave it |
| `MILESTONES_OWNER_URL` | unset | login for `db upgrade`, `principal add`, `token create` |
| `MILESTONES_POOL_SIZE` | `10` | connections each pool keeps open |
| `MILESTONES_POOL_MAX_OVERFLOW` | `10` | extra connections the event store opens under load |
| `MILESTONES_POOL_TIMEOUT` | `1` | seconds to wait for (or to open) a connection; 503 after it |
| `MILESTONES_LOCK_TIMEOUT` | `5` | seconds a write waits for the event table lock |
| `MILESTONES_IDLE_IN_TRANSACTION_TIMEOUT` | `5` | seconds before an idle transaction is ended |
| `MILESTONES_SAVE_TIMEOUT` | `10` | seconds before a stalled save is cut (503) |
| `MILESTONES_ALLOW_UNSAFE_DURABILITY` | unset | `y`: start though fsync or the like is off |
| `MILESTONES_SIGNING_KEY` | `<dir>/signing-key` | Ed25519 key: a file (a secret) or the PEM text |
| `MILESTONES_ARTIFACT_MAX_BYTES` | `26214400` | largest artifact upload (25 MiB); larger is 413 |
| `MILESTONES_CHECKPOINT_INTERVAL` | `3600` | seconds between checkpoints; 0: on demand |
| `MILESTONES_WORKERS` | `1` | API processes `milestones serve` runs (`--workers` overrides) |
| `MILESTONES_POLL_INTERVAL` | `0.5` | seconds a worker waits for NOTIFY before it polls |
| `MILESTONES_READY_MAX_LAG` | `30` | seconds a view may lag before `/ready` answers 503 |
| `MILESTONES_SHUTDOWN_TIMEOUT` | `10` | seconds SIGTERM waits for in-flight requests |
| `MILESTONES_STREAM_CONNECTIONS` | `2` | connections exports and stream catch-ups use at once |
| `MILESTONES_EXPORT_DEADLINE` | `600` | seconds an export may take before it is cut off |
| `MILESTONES_SEND_TIMEOUT` | `30` | seconds a streamed answer waits for a client to read |
| `MILESTONES_STREAM_KEEPALIVE` | `15` | seconds between keep-alives of a quiet event stream |
| `MILESTONES_WAITS_PER_PRINCIPAL` | `8` | `?min_position` waits a principal may have at once |
| `MILESTONES_PROJECT_CACHE_BYTES` | `268435456` | bytes of projects a process caches; 0: none |
| `MILESTONES_PAST_STATES_BYTES` | `67108864` | bytes of past states (as_of, diff) a process keeps |
| `MILESTONES_GC_FULL_SECONDS` | `600` | seconds between full garbage collections; 0: Python's |
| `MILESTONES_WEBHOOK_ALLOW_PRIVATE` | unset | `y`: webhooks may target private addresses |
| `MILESTONES_WEBHOOK_TIMEOUT` | `10` | seconds a delivery waits per step |
| `MILESTONES_WEBHOOK_MAX_FAILURES` | `10` | failures in a row that pause a subscription |
| `MILESTONES_WEBHOOK_RETRY_FIRST` | `1` | seconds before a first retry (doubled, jittered) |
| `MILESTONES_WEBHOOK_RETRY_MAX` | `300` | the longest wait between retries, seconds |
| `MILESTONES_WEBHOOK_LOG_DAYS` | `30` | days a delivery attempt stays in the log; 0: for ever |
| `MILESTONES_NOTICE_INTERVAL` | `60` | seconds between looks for notices; 0: never |
| `MILESTONES_SIGNATURES_REQUIRED` | unset | `y`: signing commands need the signer's password |
| `MILESTONES_SIGNING_LOCK_SECONDS` | `900` | seconds 5 failed signatures in a row lock signing |
| `MILESTONES_LOG_LEVEL` | `INFO` | least severe log level written |
| `MILESTONES_LOG_FORMAT` | `auto` | `json`, `text`, or `auto` (JSON unless stderr is a terminal) |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from adapters.signing import KeySource

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
LOG_FORMATS = ("auto", "json", "text")


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


def read_urls(raw: str | None) -> str | None:
    """`MILESTONES_READ_URLS` checked: each a libpq URI (postgresql://...), since a key=value
    DSN holds the spaces that separate them."""
    if raw is None:
        return None
    for n, url in enumerate(raw.replace(",", " ").split(), start=1):
        # Named by its place only: a URI's password may sit in its user part or its query.
        if not url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                f"MILESTONES_READ_URLS: URI {n} must start with postgresql:// (it is not shown: "
                "it may hold a password)"
            )
        try:
            conninfo_to_dict(url)
        except Exception:
            raise SettingsError(
                f"MILESTONES_READ_URLS: libpq cannot read URI {n} (it is not shown: it may hold "
                "a password)"
            ) from None
    return raw


@dataclass(frozen=True)
class Settings:
    """The service's configuration; build it with `Settings.from_env()`."""

    database_url: str | None = None
    data_dir: Path = Path(".milestones")
    host: str = "127.0.0.1"
    port: int = 8000
    owner_url: str | None = None
    read_urls: str | None = None
    read_max_lag: float = 5.0
    pool_size: int = 10
    pool_max_overflow: int = 10
    pool_timeout: float = 1.0
    lock_timeout: int = 5
    idle_in_transaction_timeout: int = 5
    save_timeout: float = 10.0
    allow_unsafe_durability: bool = False
    signing_key: Path | None = None  # None: `<data_dir>/signing-key`
    signing_key_pem: str | None = None  # the key itself, given in MILESTONES_SIGNING_KEY
    checkpoint_interval: int = 3600
    artifact_max_bytes: int = 25 * 1024 * 1024
    workers: int = 1
    poll_interval: float = 0.5
    ready_max_lag: float = 30.0
    shutdown_timeout: float = 10.0
    stream_connections: int = 2
    export_deadline: float = 600.0
    send_timeout: float = 30.0
    stream_keepalive: float = 15.0
    waits_per_principal: int = 8
    project_cache_bytes: int = 256 * 2**20
    past_states_bytes: int = 64 * 2**20
    gc_full_seconds: int = 600
    webhook_allow_private: bool = False
    webhook_timeout: float = 10.0
    webhook_max_failures: int = 10
    webhook_retry_first: float = 1.0
    webhook_retry_max: float = 300.0
    webhook_log_days: int = 30
    notice_interval: int = 60
    signatures_required: bool = False
    signing_lock_seconds: int = 900
    log_level: str = "INFO"
    log_format: str = "auto"

    @property
    def signing_key_path(self) -> Path:
        """Where the checkpoint signing key lives (outside the database, by design)."""
        return self.signing_key or self.data_dir / "signing-key"

    @property
    def signing_key_source(self) -> KeySource:
        """The deployment's key. It is made when missing only on the embedded server (no
        DATABASE_URL: development, where every process shares the data dir): a process of a
        deployment never makes a key of its own (docs/trust.md §4)."""
        if self.signing_key_pem is not None:
            return KeySource(pem=self.signing_key_pem)
        return KeySource(path=self.signing_key_path, may_create=self.database_url is None)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> Settings:
        """Read the settings from `environ`; empty values count as unset."""

        def text(name: str) -> str | None:
            value = environ.get(name, "").strip()
            return value or None

        def number(name: str, default: int, minimum: int) -> int:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise SettingsError(f"{name} must be an integer, not {raw!r}") from None
            if value < minimum:
                raise SettingsError(f"{name} must be at least {minimum}, not {value}")
            return value

        def seconds(name: str, default: float) -> float:
            raw = text(name)
            if raw is None:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number of seconds, not {raw!r}") from None
            if not value > 0:
                raise SettingsError(f"{name} must be positive, not {raw}")
            return value

        def choice(name: str, default: str, allowed: tuple[str, ...]) -> str:
            raw = text(name)
            if raw is None:
                return default
            if raw.upper() in allowed:
                return raw.upper()
            if raw.lower() in allowed:
                return raw.lower()
            raise SettingsError(f"{name} must be one of {', '.join(allowed)}, not {raw!r}")

        def flag(name: str) -> bool:
            raw = text(name)
            if raw is None or raw.lower() in ("n", "no", "0", "false", "off"):
                return False
            if raw.lower() in ("y", "yes", "1", "true", "on"):
                return True
            raise SettingsError(f"{name} must be y or n, not {raw!r}")

        port = number("MILESTONES_PORT", cls.port, minimum=0)
        # The key itself may be given (its PEM text) instead of its file's path.
        pem = (environ.get("MILESTONES_SIGNING_KEY") or "").lstrip().startswith("-----BEGIN")
        if port > 65535:
            raise SettingsError(f"MILESTONES_PORT must be at most 65535, not {port}")
        return cls(
            database_url=text("DATABASE_URL"),
            data_dir=Path(text("MILESTONES_DATA_DIR") or cls.data_dir),
            host=text("MILESTONES_HOST") or cls.host,
            port=port,
            owner_url=text("MILESTONES_OWNER_URL"),
            read_urls=read_urls(text("MILESTONES_READ_URLS")),
            read_max_lag=seconds("MILESTONES_READ_MAX_LAG_SECONDS", cls.read_max_lag),
            pool_size=number("MILESTONES_POOL_SIZE", cls.pool_size, minimum=1),
            pool_max_overflow=number("MILESTONES_POOL_MAX_OVERFLOW", cls.pool_max_overflow, 0),
            pool_timeout=seconds("MILESTONES_POOL_TIMEOUT", cls.pool_timeout),
            lock_timeout=number("MILESTONES_LOCK_TIMEOUT", cls.lock_timeout, minimum=0),
            idle_in_transaction_timeout=number(
                "MILESTONES_IDLE_IN_TRANSACTION_TIMEOUT", cls.idle_in_transaction_timeout, 0
            ),
            save_timeout=seconds("MILESTONES_SAVE_TIMEOUT", cls.save_timeout),
            allow_unsafe_durability=flag("MILESTONES_ALLOW_UNSAFE_DURABILITY"),
            signing_key=Path(key) if (key := text("MILESTONES_SIGNING_KEY")) and not pem else None,
            signing_key_pem=key if pem else None,
            checkpoint_interval=number(
                "MILESTONES_CHECKPOINT_INTERVAL", cls.checkpoint_interval, minimum=0
            ),
            artifact_max_bytes=number(
                "MILESTONES_ARTIFACT_MAX_BYTES", cls.artifact_max_bytes, minimum=1
            ),
            workers=number("MILESTONES_WORKERS", cls.workers, minimum=1),
            poll_interval=seconds("MILESTONES_POLL_INTERVAL", cls.poll_interval),
            ready_max_lag=seconds("MILESTONES_READY_MAX_LAG", cls.ready_max_lag),
            shutdown_timeout=seconds("MILESTONES_SHUTDOWN_TIMEOUT", cls.shutdown_timeout),
            stream_connections=number(
                "MILESTONES_STREAM_CONNECTIONS", cls.stream_connections, minimum=1
            ),
            export_deadline=seconds("MILESTONES_EXPORT_DEADLINE", cls.export_deadline),
            send_timeout=seconds("MILESTONES_SEND_TIMEOUT", cls.send_timeout),
            stream_keepalive=seconds("MILESTONES_STREAM_KEEPALIVE", cls.stream_keepalive),
            waits_per_principal=number(
                "MILESTONES_WAITS_PER_PRINCIPAL", cls.waits_per_principal, minimum=1
            ),
            past_states_bytes=number(
                "MILESTONES_PAST_STATES_BYTES", cls.past_states_bytes, minimum=0
            ),
            gc_full_seconds=number("MILESTONES_GC_FULL_SECONDS", cls.gc_full_seconds, minimum=0),
            project_cache_bytes=number(
                "MILESTONES_PROJECT_CACHE_BYTES", cls.project_cache_bytes, minimum=0
            ),
            webhook_allow_private=flag("MILESTONES_WEBHOOK_ALLOW_PRIVATE"),
            webhook_timeout=seconds("MILESTONES_WEBHOOK_TIMEOUT", cls.webhook_timeout),
            webhook_max_failures=number(
                "MILESTONES_WEBHOOK_MAX_FAILURES", cls.webhook_max_failures, minimum=1
            ),
            webhook_retry_first=seconds("MILESTONES_WEBHOOK_RETRY_FIRST", cls.webhook_retry_first),
            webhook_retry_max=seconds("MILESTONES_WEBHOOK_RETRY_MAX", cls.webhook_retry_max),
            webhook_log_days=number("MILESTONES_WEBHOOK_LOG_DAYS", cls.webhook_log_days, 0),
            notice_interval=number("MILESTONES_NOTICE_INTERVAL", cls.notice_interval, 0),
            signatures_required=flag("MILESTONES_SIGNATURES_REQUIRED"),
            signing_lock_seconds=number(
                "MILESTONES_SIGNING_LOCK_SECONDS", cls.signing_lock_seconds, minimum=1
            ),
            log_level=choice("MILESTONES_LOG_LEVEL", cls.log_level, LOG_LEVELS),
            log_format=choice("MILESTONES_LOG_FORMAT", cls.log_format, LOG_FORMATS),
        )
