"""The tamper-evidence check over HTTP: `GET /v1/verify`, for auditors and admins."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.access import Overseer
from api.checkpoints import Checkpoints
from api.deps import ContainerDep
from api.schemas.trust import VerifyReport

router = APIRouter(prefix="/v1", tags=["trust"])


@router.get(
    "/verify",
    response_model=VerifyReport,
    responses={
        401: {"description": "missing or unknown token"},
        403: {"description": "only auditors and admins verify the log"},
    },
)
def verify(container: ContainerDep, caller: Overseer) -> dict[str, Any]:
    """Recompute the hash chain over every stored event and check it against the signed
    checkpoints: `ok` only if the log is intact and every signature holds, else the first
    position where it breaks. `signers` says who signed the checkpoints (trusted by this
    service's key, rotated, or unknown); `derived` checks the snapshots and the as-of index
    against the events. Neither changes `ok`."""
    checkpoints = Checkpoints.of(container)
    return {**checkpoints.audit().as_dict(), "derived": checkpoints.check_derived().as_dict()}
