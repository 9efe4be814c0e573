"""Admins issue and list scoped, expiring tokens (issue 16, item 3): the CLI's `token create`
and `token list` over HTTP. The service's role cannot write tokens; an issue goes through the
database function that checks the admin's own token (migration 0030)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from adapters.postgres.principals import (
    TOKEN_ID_LENGTH,
    TokenRecord,
    TokenScope,
    hash_token,
)
from api.access import Admin
from api.deps import ContainerDep
from api.schemas.tokens import TokenCreate, TokenIssued, TokenPublic

router = APIRouter(prefix="/v1/tokens", tags=["tokens"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, unknown, revoked or expired token"},
    403: {"description": "not an admin, or the admin's token is scoped"},
}


@router.get("", response_model=list[TokenPublic], responses=_ERRORS)
def list_tokens(
    container: ContainerDep, caller: Admin, principal: str | None = None
) -> list[dict[str, Any]]:
    """Every token (of `principal` when given), newest first: its scope, expiry and state.
    Never a secret: a token is named by the start of its hash."""
    now = datetime.now(UTC)
    return [_public(record, now) for record in container.principals.list_tokens(principal)]


@router.post(
    "",
    status_code=201,
    response_model=TokenIssued,
    responses={**_ERRORS, 422: {"description": "an unknown principal, an expiry already past"}},
)
def create_token(
    request: Request, container: ContainerDep, caller: Admin, body: TokenCreate
) -> dict[str, Any]:
    """Issue a token for `principal`, narrowed to `projects`, to reading, until `expires_at`.
    The token is in this answer only; only its hash is kept."""
    projects = None if body.projects is None else frozenset(body.projects)
    scope = TokenScope(projects, body.read_only, body.expires_at)
    # The caller's own token vouches for the issue, checked again by the database.
    token = container.principals.issue_token(request.state.token, body.principal, scope)
    return {
        "token": token,
        "id": hash_token(token)[:TOKEN_ID_LENGTH],
        "principal": body.principal,
        "projects": None if projects is None else sorted(projects),
        "read_only": body.read_only,
        "expires_at": body.expires_at,
    }


def _public(record: TokenRecord, now: datetime) -> dict[str, Any]:
    scope = record.scope
    return {
        "id": record.id,
        "principal": record.principal,
        "projects": None if scope.projects is None else sorted(scope.projects),
        "read_only": scope.read_only,
        "expires_at": scope.expires_at,
        "created_at": record.created_at,
        "state": record.state(now),
    }
