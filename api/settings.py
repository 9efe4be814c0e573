"""Runtime configuration of Milestone Ledger, read once from the environment.

Every knob is an environment variable; nothing else configures the service.

| variable | default | meaning |
| --- | --- | --- |
| `DATABASE_URL` | unset | libpq URI or DSN of PostgreSQL; unset starts the embedded one |
| `MILESTONES_DATA_DIR` | `./.milestones` | local state; the embedded cluster is in `<dir>/pg` |
| `MILESTONES_HOST` | `127.0.0.1` | address `milestones serve` listens on |
| `MILESTONES_PORT` | `8000` | port `milestones serve` listens on |
| `MILESTONES_OWNER_URL` | unset | login for `milestones db upgrade` when it needs another |
| `MILESTONES_POOL_SIZE` | `10` | connections each pool keeps open |
| `MILESTONES_POOL_MAX_OVERFLOW` | `10` | extra connections the event store opens under load |
| `MILESTONES_POOL_TIMEOUT` | `2` | seconds to wait for (or to open) a connection |
| `MILESTONES_LOCK_TIMEOUT` | `5` | seconds a write waits for the event table lock |
| `MILESTONES_IDLE_IN_TRANSACTION_TIMEOUT` | `5` | seconds before an idle transaction is ended |
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


class SettingsError(ValueError):
    """An environment variable holds a value the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """The service's configuration; build it with `Settings.from_env()`."""

    database_url: str | None = None
    data_dir: Path = Path(".milestones")
    host: str = "127.0.0.1"
    port: int = 8000
    owner_url: str | None = None
    pool_size: int = 10
    pool_max_overflow: int = 10
    pool_timeout: float = 2.0
    lock_timeout: int = 5
    idle_in_transaction_timeout: int = 5

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

        port = number("MILESTONES_PORT", cls.port, minimum=0)
        if port > 65535:
            raise SettingsError(f"MILESTONES_PORT must be at most 65535, not {port}")
        return cls(
            database_url=text("DATABASE_URL"),
            data_dir=Path(text("MILESTONES_DATA_DIR") or cls.data_dir),
            host=text("MILESTONES_HOST") or cls.host,
            port=port,
            owner_url=text("MILESTONES_OWNER_URL"),
            pool_size=number("MILESTONES_POOL_SIZE", cls.pool_size, minimum=1),
            pool_max_overflow=number("MILESTONES_POOL_MAX_OVERFLOW", cls.pool_max_overflow, 0),
            pool_timeout=seconds("MILESTONES_POOL_TIMEOUT", cls.pool_timeout),
            lock_timeout=number("MILESTONES_LOCK_TIMEOUT", cls.lock_timeout, minimum=0),
            idle_in_transaction_timeout=number(
                "MILESTONES_IDLE_IN_TRANSACTION_TIMEOUT", cls.idle_in_transaction_timeout, 0
            ),
        )
