"""FastAPI dependencies as `Annotated` aliases: the container, the caller, command headers."""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool

from adapters.postgres.principals import TokenRefusal
from api.bootstrap import Container
from api.problems import ProblemError
from api.serving import Serving
from application.access import Principal


async def get_container(request: Request) -> Container:
    # async: no I/O, so FastAPI need not hop to a worker thread for it (sync dependencies do).
    container: Container = request.app.state.container
    return container


ContainerDep = Annotated[Container, Depends(get_container)]


async def get_serving(request: Request) -> Serving:
    serving: Serving = request.app.state.serving
    return serving


ServingDep = Annotated[Serving, Depends(get_serving)]


async def authenticate(
    request: Request,
    container: ContainerDep,
    authorization: Annotated[str | None, Header()] = None,
) -> Principal:
    """The principal behind `Authorization: Bearer <token>`; 401 when missing or unknown.

    Once per request: a route that needs the caller before its dependencies run (an
    Idempotency-Key is scoped to the principal) leaves it in `request.state.caller`."""
    known: Principal | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    challenge = {"WWW-Authenticate": 'Bearer realm="milestones"'}
    if authorization is None:
        raise ProblemError(
            401,
            "Unauthorized",
            "a bearer token is required: send Authorization: Bearer <token> "
            "(an admin makes one with `milestones token create NAME`)",
            slug="unauthorized",
            headers=challenge,
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ProblemError(
            401,
            "Unauthorized",
            "use Authorization: Bearer <token>",
            slug="unauthorized",
            headers=challenge,
        )
    principal = await run_in_threadpool(container.principals.identify, token)
    if isinstance(principal, TokenRefusal):
        # Said plainly (unknown, revoked, expired at ...): the caller learns what to renew.
        raise ProblemError(
            401, "Unauthorized", principal.detail, slug="unauthorized", headers=challenge
        )
    request.state.caller = principal
    request.state.principal = principal.name  # the request's log line names it (never the token)
    request.state.token = token  # an event stream checks it again while it is open
    return principal


Caller = Annotated[Principal, Depends(authenticate)]


_ETAG_VERSION = re.compile(r'^\s*(?:W/)?"?(\d+)"?\s*$')


async def expected_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """`If-Match: "<version>"`: the command applies only at that version, else 412."""
    if if_match is None:
        return None
    match = _ETAG_VERSION.match(if_match)
    if match is None:
        raise ProblemError(
            422,
            "Invalid request",
            'If-Match must be the project version as an entity tag, e.g. "12"',
            slug="invalid-request",
        )
    return int(match.group(1))


IfMatch = Annotated[int | None, Depends(expected_version)]


async def raw_if_match(if_match: Annotated[str | None, Header()] = None) -> str | None:
    """The If-Match header as sent: a command parses it once the caller is let in."""
    return if_match


RawIfMatch = Annotated[str | None, Depends(raw_if_match)]
