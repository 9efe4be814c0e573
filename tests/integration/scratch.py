"""A database of a test's own on the session's server, for tests that break things on purpose."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import uuid4

from adapters.postgres.embedded import drop_database, ensure_database


@contextmanager
def scratch_database(database_url: str, prefix: str) -> Iterator[str]:
    """A fresh, empty database beside the session's one; dropped afterwards."""
    name = f"{prefix}_{os.getpid()}_{uuid4().hex[:8]}"
    url = ensure_database(database_url, name)
    try:
        yield url
    finally:
        drop_database(database_url, name)
