"""Liveness and readiness, unauthenticated like most probe targets."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from api.deps import ContainerDep

router = APIRouter(tags=["system"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/ready")
def ready(container: ContainerDep) -> JSONResponse:
    """The database answers and the views are being kept up to date."""
    checks: dict[str, Any] = {}
    try:
        with container.pool.connection() as conn:
            conn.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as error:  # any failure means not ready; say which
        checks["database"] = f"unavailable: {type(error).__name__}"
    checks["projections"] = "running" if container.runner.running else "stopped"
    ok = checks["database"] == "ok" and container.runner.running
    return JSONResponse(
        {"status": "ready" if ok else "not ready", "checks": checks},
        status_code=200 if ok else 503,
    )
