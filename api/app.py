"""Builds the FastAPI application around a container (see `api.bootstrap`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import headers, openapi, problems
from api.bootstrap import Container
from api.checkpoints import CheckpointTimer
from api.limits import BodyLimit
from api.middleware import RequestMiddleware
from api.pruning import AnswerPruner
from api.routes import (
    artifacts,
    commands,
    evidence_pack,
    history,
    me,
    queries,
    signing,
    system,
    timeline,
    tokens,
    trust,
    web,
    webhooks,
)
from api.serving import Serving

DESCRIPTION = """\
Keeps a project's deliverables aligned with its milestones, and a tamper-evident record of who
achieved what, when, on what evidence. Every change is an immutable event; the schedule and
alignment are views rebuilt from the events. Errors are RFC 9457 problem JSON.
"""


def create_app(
    container: Container, *, run_projections: bool = True, owns_container: bool = False
) -> FastAPI:
    """The API; with `run_projections` the views are kept up to date in this process.

    With `owns_container` (an API worker process built by `api.asgi`) the container is
    closed when the server shuts down.
    """

    serving = Serving(container, history.feed_frames(container))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Signed checkpoints are taken where the views are kept, once per deployment's runner.
        timer = CheckpointTimer.of(container) if run_projections else None
        # Expired kept answers are pruned there too (api.pruning).
        pruner = AnswerPruner(container.ledger.store) if run_projections else None
        if run_projections:
            container.runner.start()
            container.deliverer.start()  # webhooks are delivered where the views run
        if timer is not None:
            timer.start()
        if pruner is not None:
            pruner.start()
        container.reading.replicas.start()  # this process serves reads: probe the replicas
        container.collector.start()  # full collections on a timer, not in a request's time
        serving.hear_stop_signals()
        try:
            yield
        finally:
            container.collector.stop()
            if pruner is not None:
                pruner.stop()
            if timer is not None:
                timer.stop()
            await serving.close()
            container.reading.replicas.stop()
            container.deliverer.stop()
            container.runner.stop()
            if owns_container:
                container.close()

    app = FastAPI(
        title="Milestone Ledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        # operationId = the route's name ("achieve", "define_milestone"): what a generated
        # client names its functions, rather than the path spelled out.
        generate_unique_id_function=lambda route: route.name,
    )
    app.state.container = container
    app.state.serving = serving
    problems.install(app)
    openapi.install(app)
    # Inside the request middleware, so a refused body is still logged and counted.
    app.add_middleware(BodyLimit)
    app.add_middleware(RequestMiddleware, metrics=container.metrics)
    app.include_router(system.router)
    app.include_router(commands.router)
    app.include_router(queries.router)
    app.include_router(history.router)
    app.include_router(timeline.router)
    app.include_router(trust.router)
    app.include_router(webhooks.router)
    app.include_router(tokens.router)
    app.include_router(me.router)
    app.include_router(signing.router)
    app.include_router(artifacts.router)
    app.include_router(evidence_pack.router)
    web.install(app)  # last: the page at / and its assets under /web
    headers.install(app)  # around everything, the framework's own answers included
    return app
