"""Signing passwords (issue 15, item 3; R23): a principal sets its own, an admin sees whether a
principal has one and whether its signing is locked. The service's role cannot write signing
passwords: the self-service route goes through the database function that checks the caller's
own token (migration 0061)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from adapters.postgres.signatures import InvalidSigningPasswordError, SigningRefusedError
from api.access import Admin, Anyone
from api.deps import ContainerDep
from api.problems import ProblemError
from api.schemas.signing import SigningPassword, SigningStatusPublic

router = APIRouter(prefix="/v1/principals", tags=["signing"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing, unknown, revoked or expired token"},
}


@router.put(
    "/me/signing-password",
    status_code=204,
    responses={
        **_ERRORS,
        403: {"description": "the caller's token is read-only"},
        422: {"description": "a password shorter than 8 or longer than 1024 characters"},
    },
)
def set_signing_password(
    request: Request, container: ContainerDep, caller: Anyone, body: SigningPassword
) -> Response:
    """Set the caller's own signing password (R23), separate from its tokens; only an argon2id
    hash of it is kept. The caller's own live, writing token vouches for the change."""
    try:
        container.signatures.set_own_password(request.state.token, body.password)
    except InvalidSigningPasswordError as error:
        raise ProblemError(
            422,
            "Invalid value",
            str(error),
            slug="invalid-value",
            errors=[{"field": "password", "message": str(error)}],
        ) from None
    except SigningRefusedError as refused:
        raise ProblemError(403, "Forbidden", refused.detail, slug="forbidden") from None
    return Response(status_code=204)


@router.get("/{principal}/signing", response_model=SigningStatusPublic, responses=_ERRORS)
def signing_status(principal: str, container: ContainerDep, caller: Admin) -> dict[str, Any]:
    """Whether a principal has a signing password, its failed signatures in a row, and until
    when its signing is locked (admins only)."""
    status = container.signatures.status(principal)
    return {
        "principal": status.principal,
        "password_set": status.password_set,
        "failures_in_a_row": status.failures_in_a_row,
        "locked_until": status.locked_until,
    }
