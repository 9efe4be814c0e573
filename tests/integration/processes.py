"""Helpers for tests that run the service as real processes: databases, ports, waiting."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar
from uuid import uuid4

from adapters.postgres.embedded import drop_database, ensure_database, uri_with_dbname
from adapters.signing import load_or_create_key

REPO = Path(__file__).resolve().parents[2]
MILESTONES = [sys.executable, "-m", "cli"]
T = TypeVar("T")


@contextmanager
def fresh_database(database_url: str) -> Iterator[str]:
    """A new, empty database on the server of `database_url`, dropped afterwards.

    Processes under test get a database of their own, so that the session's own runner
    (which holds the real views' locks in the session database) stays out of their way.
    """
    server_uri = uri_with_dbname(database_url, "postgres")
    name = f"ml_ops_{uuid4().hex[:12]}"
    url = ensure_database(server_uri, name)
    try:
        yield url
    finally:
        drop_database(server_uri, name)


def service_env(database_url: str | None, **extra: str) -> dict[str, str]:
    """The environment of a `milestones` process under test."""
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MILESTONES_LOG_FORMAT": "json",
        # The test servers trade durability for speed; the service refuses that unless told.
        "MILESTONES_ALLOW_UNSAFE_DURABILITY": "y",
        "MILESTONES_POOL_SIZE": "3",
        "MILESTONES_POOL_MAX_OVERFLOW": "2",
        **extra,
    }
    env.pop("DATABASE_URL", None)
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    if "MILESTONES_SIGNING_KEY" not in extra:
        # A process on a DATABASE_URL never makes a key: the test, as an operator would, gives
        # it the deployment's key, kept in its data dir (shared with in-process containers).
        data_dir = REPO / env.get("MILESTONES_DATA_DIR", ".milestones")
        load_or_create_key(data_dir / "signing-key")
        env["MILESTONES_SIGNING_KEY"] = str(data_dir / "signing-key")
    return env


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process with its output in `log` (read it when a test fails)."""
    out = log.open("wb")
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)


def run(args: list[str], env: dict[str, str], timeout: float = 60) -> str:
    done = subprocess.run(
        args, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def stop(process: subprocess.Popen[bytes], timeout: float = 30) -> int:
    """SIGTERM the process and wait for it; SIGKILL it if it will not end."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise
    return process.returncode


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state first), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Whether the process runs (Linux: /proc). A zombie has ended: an orphan's reaper (init in
    a container) may never reap it."""
    fields = _stat(pid)
    return fields is not None and fields[0] != "Z"


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid` now (Linux: /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll `check` until it returns something truthy; fail (naming `what`) after `timeout`.

    The timeout bounds how long a broken run hangs; it is not what the test asserts.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@contextmanager
def running_service(database_url: str, workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """A real `milestones serve` on a fresh, upgraded database of its own (data and log in
    `workdir`), answering `/health`: its base URL and the environment of its CLI commands."""
    with fresh_database(database_url) as url:
        env = service_env(url, MILESTONES_DATA_DIR=str(workdir / "data"))
        run([*MILESTONES, "db", "upgrade"], env)
        port = free_port()
        server = spawn([*MILESTONES, "serve", "--port", str(port)], env, workdir / "serve.log")
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(
                lambda: urllib.request.urlopen(f"{base}/health", timeout=1).status == 200,
                60,
                "the service to answer",
            )
            yield base, env
        finally:
            stop(server)
