"""`Idempotency-Key` on every command (SPEC §3), in one place: the commands router's route class.

With a key, a command runs at most once per principal and key within `ANSWERS_KEPT_FOR` (24 h):
1. the caller is authenticated first (a bad token is 401 and nothing is kept), once: the route's
   own dependencies find it in `request.state`;
2. the key is locked (in this process, then across processes by the store's `answer_lock`), so
   concurrent retries wait for the first instead of racing it;
3. an answer kept for the key is replayed if the request is the same (method, path, body) and
   refused with 422 otherwise; this happens before If-Match is looked at. An answer kept longer
   ago than the window is forgotten: the key is free and the request runs as a new command;
4. otherwise the command runs with the key in its `Admission`: a command that writes events
   keeps its plain result in the events' own transaction (`application.ports`), so the answer
   exists exactly when the events do, and it is rendered (`api.answers`) on each replay. Any
   other answer (a refusal, a no-op) is kept as rendered, right after, only if the command
   reached the project (`kept`): a 401, 403 or 404 from admission and a 422 are not kept, so
   a caller with no project cannot grow the table, and a malformed body may be corrected and
   sent again under the same key (as Stripe does).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any
from uuid import UUID

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from api import problems
from api.answers import answer
from api.deps import authenticate
from application.access import Principal
from application.ports import LedgerStore
from application.results import AnswerKey, KeptAnswer

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255
# Headers that describe the transfer, not the answer: never kept or replayed.
_TRANSFER_HEADERS = frozenset({"content-length", "date", "server", "transfer-encoding"})


def answer_key(request: Request) -> AnswerKey | None:
    """The key the command of this request runs under, if it was sent with one."""
    key: AnswerKey | None = getattr(request.state, "answer_key", None)
    return key


def note_admitted(request: Request) -> None:
    """The command of this request was let in to its project (`api.access`): it reached it."""
    request.state.admitted = True


def kept(request: Request, response: Response) -> bool:
    """Whether an answer that wrote no event is kept: one the project's state decided (a
    no-op, a rule's 409, If-Match's 412, a 404 for an entity of the project). Not kept: an
    answer before admission (401, 403, a 404 for a project the caller may not see), a 422 (the
    request is malformed: the same body gets the same 422, nothing to remember), a 5xx."""
    if not getattr(request.state, "admitted", False):
        return False
    return response.status_code < 500 and response.status_code != 422


def _rendered(key: AnswerKey, response: Response) -> KeptAnswer:
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() not in _TRANSFER_HEADERS
    }
    return KeptAnswer(key, status=response.status_code, headers=headers, body=bytes(response.body))


def _replay(kept: KeptAnswer) -> Response:
    if kept.result is not None:
        response = answer(kept.result)
        response.headers[REPLAYED_HEADER] = "true"
        return response
    assert kept.status is not None
    return Response(
        content=kept.body,
        status_code=kept.status,
        headers={**kept.headers, REPLAYED_HEADER: "true"},
    )


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
        principal = await authenticate(request, container, request.headers.get("authorization"))
    except problems.ProblemError as error:
        return await problems.render(request, error)
    if _outside_scope(request, principal):
        # A narrower token of the same principal must not replay what a wider one did: the
        # command is refused by its admission (403 or 404), and nothing is kept.
        return await handler(request)
    store: LedgerStore = container.ledger.store
    body = await request.body()
    claim = AnswerKey(
        principal.name,
        key,
        request_hash(request.method, request.url.path, request.url.query, body),
    )

    async def locked() -> Response:
        across_processes = store.answer_lock(claim.principal, claim.key)
        await _in_thread(across_processes, entering=True)
        try:
            return await _answer(request, store, claim, handler)
        finally:
            await _in_thread(across_processes, entering=False)

    return await _locks.run((claim.principal, claim.key), locked)


def _outside_scope(request: Request, principal: Principal) -> bool:
    """Whether the token's scope refuses this command whatever its key (read-only, or another
    project than its own, or a new project for a token scoped to projects)."""
    if principal.read_only:
        return True
    if principal.projects is None:
        return False
    try:
        return UUID(str(request.path_params.get("project_id"))) not in principal.projects
    except ValueError:
        return True  # no project in the path: creating one, which a scoped token may not


async def _answer(
    request: Request,
    store: LedgerStore,
    claim: AnswerKey,
    handler: Callable[[Request], Awaitable[Response]],
) -> Response:
    found = await run_in_threadpool(store.find_answer, claim.principal, claim.key)
    if found is not None:
        if found.key.request_hash != claim.request_hash:
            return _invalid_key(
                f"this {HEADER} was used for another request; use a new key for a new request"
            )
        return _replay(found)
    request.state.answer_key = claim
    try:
        response = await handler(request)
    except Exception as error:
        response = await problems.render(request, error)
    # Kept already if the command wrote events (in their transaction); else keep it now.
    if (
        kept(request, response)
        and await run_in_threadpool(store.find_answer, claim.principal, claim.key) is None
    ):
        await run_in_threadpool(store.keep_answer, _rendered(claim, response))
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
