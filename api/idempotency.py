"""`Idempotency-Key` on every command (SPEC §3), in one place: the commands router's route class.

With a key, a command runs at most once per principal and key:
1. the caller is authenticated first (a bad token is 401 and nothing is kept);
2. the key is locked (in this process, then across processes by a PostgreSQL advisory lock), so
   concurrent retries wait for the first instead of racing it;
3. a response kept for the key is replayed if the request is the same (method, path, body) and
   refused with 422 otherwise; this happens before If-Match is looked at;
4. otherwise the command runs; a command that writes events keeps its response in the events'
   own transaction (`adapters.postgres.recorder`), so the response exists exactly when the
   events do; any other response below 500 (a refusal, a no-op) is kept right after.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from adapters.postgres.recorder import IdempotencyRecord, LedgerRecorder
from api import problems
from api.deps import authenticate
from application.ledger import CommandResult, Receipt

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers that describe the transfer, not the answer: never kept or replayed.
_TRANSFER_HEADERS = frozenset({"content-length", "date", "server", "transfer-encoding"})


@dataclass(frozen=True)
class Claim:
    """The request being run under a key."""

    principal: str
    key: str
    request_hash: bytes

    def record(self, response: Response, position: int | None) -> IdempotencyRecord:
        headers = {
            name: value
            for name, value in response.headers.items()
            if name.lower() not in _TRANSFER_HEADERS
        }
        return IdempotencyRecord(
            principal=self.principal,
            key=self.key,
            request_hash=self.request_hash,
            status=response.status_code,
            headers=headers,
            body=bytes(response.body),
            position=position,
        )


_current: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)


def receipt(respond: Callable[[CommandResult], Response]) -> Receipt | None:
    """What the ledger keeps with the events for the command running under a key, if any:
    the response `respond` builds from the command's result."""
    claim = _current.get()
    if claim is None:
        return None

    def keep(result: CommandResult) -> IdempotencyRecord:
        return claim.record(respond(result), result.position)

    return keep


def request_hash(method: str, path: str, query: str, body: bytes) -> bytes:
    """What makes two requests "the same": method, path, query and body (JSON compared as
    data, so key order and spacing do not matter)."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.digest()


class _KeyLocks:
    """One asyncio lock per (principal, key) in use in this process."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @contextmanager
    def _counted(self, name: tuple[str, str]) -> Iterator[asyncio.Lock]:
        lock, users = self._locks.get(name, (asyncio.Lock(), 0))
        self._locks[name] = (lock, users + 1)
        try:
            yield lock
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)

    async def run(self, name: tuple[str, str], body: Callable[[], Awaitable[Response]]) -> Response:
        with self._counted(name) as lock:
            async with lock:
                return await body()


_locks = _KeyLocks()


def _invalid_key(detail: str) -> Response:
    return problems.problem(422, "Invalid request", detail, "invalid-idempotency-key")


async def _in_thread(manager: AbstractContextManager[Any], entering: bool) -> None:
    if entering:
        await run_in_threadpool(manager.__enter__)
    else:
        await run_in_threadpool(manager.__exit__, None, None, None)


async def run_once(
    request: Request, key: str, handler: Callable[[Request], Awaitable[Response]]
) -> Response:
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(" " <= c <= "~" for c in key):
        return _invalid_key(f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")
    container = request.app.state.container
    try:
        principal = await run_in_threadpool(
            authenticate, request, container, request.headers.get("authorization")
        )
    except problems.ProblemError as error:
        return await problems.render(request, error)
    recorder = container.ledger.recorder
    assert isinstance(recorder, LedgerRecorder), "idempotency needs the PostgreSQL store"
    body = await request.body()
    claim = Claim(
        principal.name,
        key,
        request_hash(request.method, request.url.path, request.url.query, body),
    )

    async def locked() -> Response:
        across_processes = recorder.idempotency_lock(claim.principal, claim.key)
        await _in_thread(across_processes, entering=True)
        try:
            return await _answer(request, recorder, claim, handler)
        finally:
            await _in_thread(across_processes, entering=False)

    return await _locks.run((claim.principal, claim.key), locked)


async def _answer(
    request: Request,
    recorder: LedgerRecorder,
    claim: Claim,
    handler: Callable[[Request], Awaitable[Response]],
) -> Response:
    kept = await run_in_threadpool(recorder.find_response, claim.principal, claim.key)
    if kept is not None:
        if kept.request_hash != claim.request_hash:
            return _invalid_key(
                f"this {HEADER} was used for another request; use a new key for a new request"
            )
        return Response(
            content=kept.body,
            status_code=kept.status,
            headers={**kept.headers, REPLAYED_HEADER: "true"},
        )
    token = _current.set(claim)
    try:
        response = await handler(request)
    except Exception as error:
        response = await problems.render(request, error)
    finally:
        _current.reset(token)
    # Kept already if the command wrote events (in their transaction); else keep it now.
    if (
        response.status_code < 500
        and await run_in_threadpool(recorder.find_response, claim.principal, claim.key) is None
    ):
        await run_in_threadpool(recorder.store_response, claim.record(response, None))
    return response


class IdempotentRoute(APIRoute):
    """A command route: with an `Idempotency-Key` header, it runs once per principal and key."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def idempotent(request: Request) -> Response:
            key = request.headers.get(HEADER)
            if key is None:
                return await handler(request)
            return await run_once(request, key, handler)

        return idempotent
