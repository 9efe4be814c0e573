"""Per request: an id (X-Request-ID in and out), its correlation id (which the events it causes
carry), one structured log line, and the metrics.

A plain ASGI middleware rather than Starlette's `BaseHTTPMiddleware`, so streamed responses
(the event stream) pass through unbuffered.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.logs import request_id
from api.metrics import Metrics
from application.correlation import correlation_id

log = logging.getLogger("milestones.request")

HEADER = b"x-request-id"
IDEMPOTENCY_HEADER = b"idempotency-key"
# As api.idempotency checks a key (not imported: it imports this module through api.deps).
MAX_KEY_LENGTH = 255
# A caller's id is kept only when it is short and plain, so it cannot forge log lines.
_ACCEPTED_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# The route of a request that matched none (404s): one label value, not one per path.
UNMATCHED = "unmatched"
# When the request being served arrived (`time.monotonic()`): a bound such as `min_position`'s
# 5 s counts from there, not from when the route got round to it.
arrived: ContextVar[float | None] = ContextVar("arrived", default=None)


def incoming_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            text = str(value.decode("latin-1"))
            if _ACCEPTED_ID.match(text):
                return text
            break
    return uuid.uuid4().hex


def request_correlation(scope: Scope, rid: str) -> str:
    """What every event the request causes is correlated by: its Idempotency-Key when it has a
    usable one (a retry's events then share its id), else its request id."""
    for name, value in scope.get("headers", ()):
        if name == IDEMPOTENCY_HEADER:
            key = str(value.decode("latin-1"))
            if 1 <= len(key) <= MAX_KEY_LENGTH and all(" " <= c <= "~" for c in key):
                return key
            break
    return rid


def route_template(scope: Scope) -> str:
    route: Any = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else UNMATCHED


class RequestMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = incoming_id(scope)
        token = request_id.set(rid)
        correlated = correlation_id.set(request_correlation(scope, rid))
        arrival = arrived.set(time.monotonic())
        started = time.perf_counter()
        status = 500  # what the client gets if the app dies before it answers

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = [(n, v) for n, v in message.get("headers", ()) if n != HEADER]
                message = {**message, "headers": [*headers, (HEADER, rid.encode())]}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method = str(scope.get("method", ""))
            route = route_template(scope)
            state = scope.get("state") or {}
            self.metrics.observe_request(method, route, status, seconds)
            log.info(
                "%s %s %s",
                method,
                route,
                status,
                extra={
                    "request_id": rid,
                    "method": method,
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                    "principal": state.get("principal"),
                },
            )
            request_id.reset(token)
            correlation_id.reset(correlated)
            arrived.reset(arrival)
