"""The app factory each API worker process of `milestones serve --workers N` calls.

uvicorn imports `api.asgi:create_from_env` in every worker it spawns; each builds its own
container (pools, ledger) from the environment. The supervisor that spawned them has already
started the embedded server (if any), migrated it, set DATABASE_URL, and runs the projection
runner itself, so a worker runs none.
"""

from __future__ import annotations

import ctypes
import logging
import signal
import sys

from fastapi import FastAPI

from api.app import create_app
from api.bootstrap import bootstrap
from api.logs import configure_logging
from api.settings import Settings, SettingsError

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Ask Linux to SIGTERM this worker when its supervisor dies, even by SIGKILL.

    Otherwise orphaned workers would keep the port and the next `serve` could not bind it.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        log.debug("prctl(PR_SET_PDEATHSIG) is not available", exc_info=True)


def create_from_env() -> FastAPI:
    """Build one API worker from the environment (uvicorn calls this with factory=True)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    if not settings.database_url:
        raise SettingsError("an API worker needs DATABASE_URL; `milestones serve` sets it")
    _die_with_parent()
    container = bootstrap(settings, settings.database_url)
    return create_app(container, run_projections=False, owns_container=True)
