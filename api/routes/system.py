"""Liveness, readiness and Prometheus metrics: unauthenticated, like most probe targets.

None of them carries project data: statuses, view names, positions and counts only. The probes
queue behind nothing: `/health` answers on the event loop (no worker thread, no connection);
`/ready` reads in a worker thread of its own limiter and answers 503 after `READY_TIMEOUT`.
"""

from __future__ import annotations

from typing import Any

import anyio
from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, Response

from api.access import PUBLIC
from api.bootstrap import Container
from api.deps import ContainerDep, ServingDep
from projections.replicas import Health
from projections.status import ViewStatus, view_statuses

router = APIRouter(tags=["system"])

# Seconds /ready waits for its checks (a connection included) before it answers 503.
READY_TIMEOUT = 1.0


@router.get("/health", dependencies=[Depends(PUBLIC)])
async def health() -> dict[str, str]:
    """The process is alive (it answers); says nothing about the database."""
    return {"status": "ok"}


@router.get("/ready", dependencies=[Depends(PUBLIC)])
async def ready(container: ContainerDep, serving: ServingDep) -> JSONResponse:
    """The database answers, and every view is processed by a worker and within the lag bound
    (`MILESTONES_READY_MAX_LAG` seconds); otherwise 503 with the failing checks (also when
    the checks take over a second). With read replicas, each one's rotation and replay lag
    (positions and seconds), as last probed; one out of rotation leaves the process ready."""
    bound = container.settings.ready_max_lag
    views: dict[str, dict[str, Any]] = {}
    statuses: list[ViewStatus] | None = None
    try:
        with anyio.move_on_after(READY_TIMEOUT):
            statuses = await anyio.to_thread.run_sync(
                _statuses, container, limiter=serving.probes, abandon_on_cancel=True
            )
    except Exception as error:  # any failure means not ready; say which kind
        down = {"status": "not ready", "database": f"unavailable: {type(error).__name__}"}
        return JSONResponse(down, status_code=503, headers={"Retry-After": "2"})
    if statuses is None:
        slow = {"status": "not ready", "database": f"no answer within {READY_TIMEOUT:g} s"}
        return JSONResponse(slow, status_code=503, headers={"Retry-After": "2"})
    ok = True
    for status in statuses:
        problem = None
        if status.holder is None:
            problem = "no worker is processing this view"
        elif status.lag_seconds > bound:
            problem = f"lags {status.lag_seconds:.0f} s (bound {bound:.0f} s)"
        ok = ok and problem is None
        views[status.name] = {
            "position": status.position,
            "lag_events": status.lag_events,
            "lag_seconds": round(status.lag_seconds, 3),
            "running": status.holder is not None,
            **({"problem": problem} if problem else {}),
        }
    body: dict[str, Any] = {
        "status": "ready" if ok else "not ready",
        "database": "ok",
        "views": views,
    }
    replicas = container.reading.replicas.all
    if replicas:
        # A replica out of rotation does not make the process unready: the primary answers.
        body["replicas"] = {replica.label: _replica(replica.health) for replica in replicas}
    return JSONResponse(body, status_code=200 if ok else 503)


def _replica(health: Health) -> dict[str, Any]:
    return {
        "in_rotation": health.in_rotation,
        "lag_positions": health.lag_positions,
        "lag_seconds": _rounded(health.lag_seconds),
        "replayed_ago_seconds": _rounded(health.replayed_ago),
        **({"problem": health.problem} if health.problem else {}),
    }


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 3)


def _statuses(container: Container) -> list[ViewStatus]:
    with container.pool.connection() as conn:
        return view_statuses(container.ledger, conn, container.runner.names)


@router.get("/metrics", response_class=Response, dependencies=[Depends(PUBLIC)])
def metrics(container: ContainerDep) -> Response:
    """Prometheus text exposition: requests, commands, events appended, views, pools."""
    content, media_type = container.metrics.render()
    return Response(content=content, media_type=media_type)
