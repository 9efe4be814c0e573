"""The real service on a spare local port, the demo project loaded, and Debian's Chromium."""

from __future__ import annotations

import io
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import uvicorn

from api.app import create_app
from api.bootstrap import Container
from cli.demo_project import PEOPLE, load_demo

CHROMIUM = Path("/usr/bin/chromium")
# The flags Debian's Chromium needs here (root, no GPU), and none of its phoning home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
STARTUP_TIMEOUT = 15.0
VIEWS_TIMEOUT = 30.0


@contextmanager
def serve(container: Container) -> Iterator[str]:
    """Uvicorn in a thread on 127.0.0.1 and a port the OS picks; yields the base URL.

    The app keeps the views itself (run_projections); where another runner in this process or
    elsewhere holds a view, its advisory lock makes this one wait its turn.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(container), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="web-server", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_TIMEOUT)
        sock.close()


@dataclass(frozen=True)
class Demo:
    project_id: UUID
    tokens: dict[str, str]  # principal name → a fresh bearer token


def demo(container: Container, base_url: str) -> Demo:
    """Loads `milestones demo`'s project and makes a token for each of its people."""
    project_id = load_demo(container, base_url=base_url, out=io.StringIO())
    # The project list and the audit trail are views: let them catch up before anyone looks.
    if not container.runner.wait_for(container.runner.head(), VIEWS_TIMEOUT):
        raise RuntimeError("the views did not catch up with the demo")
    tokens = {name: container.principals.create_token(name) for name in PEOPLE}
    return Demo(project_id, tokens)
