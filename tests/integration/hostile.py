"""Tools of the availability attacks (issue 13): raw sockets that misbehave, and a bystander
who measures how long the service takes to answer everybody else meanwhile."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

# The receive buffer of a client that reads nothing (the reproduction: 4 KB).
TINY_BUFFER = 4096
CHUNKED_END = b"0\r\n\r\n"


def raw_get(
    port: int, path: str, token: str, accept: str = "*/*", tiny: bool = False
) -> socket.socket:
    """A GET sent on a socket of its own, nothing read: what the test does with it is up to it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if tiny:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, TINY_BUFFER)
    sock.connect(("127.0.0.1", port))
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
        f"Accept: {accept}\r\n\r\n"
    )
    sock.sendall(request.encode())
    return sock


def read_until(sock: socket.socket, wanted: bytes, timeout: float) -> bytes:
    """What the socket sends until `wanted` appears (or it closes, or `timeout` passes)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while wanted not in data and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    return data


def read_to_end(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """Everything until the server closes the connection; (data, True) if it did within
    `timeout`, (data, False) if it was still open then."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def status_of(data: bytes) -> int | None:
    """The status code of a raw HTTP/1.1 answer."""
    if not data.startswith(b"HTTP/1.1 "):
        return None
    return int(data[9:12])


@dataclass
class Answer:
    what: str
    status: int
    seconds: float


@dataclass
class Bystander:
    """Other users during an attack: probes on fresh connections (like a load balancer's) and
    a member working on its own project over a kept-alive one, each timed."""

    base: str
    token: str
    project_id: str
    answers: list[Answer] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Bystander:
        self._threads = [
            threading.Thread(target=self._probe, daemon=True),
            threading.Thread(target=self._work, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)

    def _timed(self, what: str, call: Callable[[], httpx.Response]) -> None:
        started = time.perf_counter()
        try:
            status = call().status_code
        except httpx.HTTPError:
            status = 0  # no answer at all (the timeout is 10 s)
        self.answers.append(Answer(what, status, time.perf_counter() - started))

    def _probe(self) -> None:
        # A new connection each time, as a load balancer's probe opens.
        host, port = self.base.removeprefix("http://").split(":")
        while not self._stop.wait(0.05):
            for path in ("/health", "/ready"):
                started = time.perf_counter()
                probe = http.client.HTTPConnection(host, int(port), timeout=10)
                try:
                    probe.request("GET", path)
                    status = probe.getresponse().status
                except OSError:
                    status = 0
                finally:
                    probe.close()
                self.answers.append(Answer(f"GET {path}", status, time.perf_counter() - started))

    def _work(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        project = f"/v1/projects/{self.project_id}"
        with httpx.Client(base_url=self.base, headers=headers, timeout=10) as client:
            while not self._stop.wait(0.05):
                body = {"name": f"Phase {time.time_ns()}"}
                self._timed("POST phases", partial(client.post, f"{project}/phases", json=body))
                self._timed("GET projects", lambda: client.get("/v1/projects"))
                self._timed("GET schedule", lambda: client.get(f"{project}/schedule"))
                self._timed("GET project", lambda: client.get(project))

    def figures(self) -> dict[str, Any]:
        """p50, p99 and max of the answers' seconds, their count, and any that were not 2xx."""
        seconds = sorted(a.seconds for a in self.answers)
        assert seconds, "the bystander got no answer at all"

        def at(q: float) -> float:
            return round(seconds[min(len(seconds) - 1, int(q * len(seconds)))], 3)

        return {
            "answers": len(seconds),
            "p50": at(0.50),
            "p99": at(0.99),
            "max": round(seconds[-1], 3),
            "slowest": max(self.answers, key=lambda a: a.seconds).what,
            "not_ok": sorted(
                {f"{a.what} {a.status}" for a in self.answers if not 200 <= a.status < 300}
            ),
        }


def server_errors(log: Path) -> list[str]:
    """Lines of the server's log that report a 500 or an exception escaping the app."""
    lines = log.read_text(errors="replace").splitlines()
    return [
        line
        for line in lines
        if '"status": 500' in line or "Exception in ASGI application" in line or "Traceback" in line
    ]


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
