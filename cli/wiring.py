"""The wired process one command runs in: its container, closed (and the embedded server
stopped) when the command is done."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from adapters.postgres.database import resolve_database_url
from api.bootstrap import Container, bootstrap, upgrade
from api.settings import Settings


@contextmanager
def open_container(settings: Settings) -> Iterator[Container]:
    """A wired process; with the embedded server it also migrates, since nobody else can."""
    url, embedded = resolve_database_url(settings)
    try:
        if embedded is not None:
            upgrade(url, settings)
        container = bootstrap(settings, url, embedded=embedded)
    except BaseException:
        if embedded is not None:
            embedded.stop()
        raise
    try:
        yield container
    finally:
        container.close()
