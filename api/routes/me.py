"""`GET /v1/me`: who the bearer token signs in as — the web page's "signed in as" line, and a
client's way to check a token without touching a project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.access import Anyone
from api.schemas.tokens import Me

router = APIRouter(prefix="/v1", tags=["tokens"])


@router.get(
    "/me",
    response_model=Me,
    responses={401: {"description": "missing, unknown, revoked or expired token"}},
)
def me(caller: Anyone) -> dict[str, Any]:
    """The principal the token names, its global role, and the token's scope."""
    return {
        "principal": caller.name,
        "role": caller.role.value,
        "projects": None if caller.projects is None else sorted(caller.projects, key=str),
        "read_only": caller.read_only,
    }
