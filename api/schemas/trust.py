"""The answer of `GET /v1/verify`."""

from __future__ import annotations

from pydantic import BaseModel, Field


class VerifyReport(BaseModel):
    """What `GET /v1/verify` found (SPEC §3)."""

    ok: bool = Field(description="true only if every event and checkpoint checks out")
    events_checked: int = Field(ge=0, description="events whose chain hash was recomputed")
    head: str | None = Field(
        description="hex sha256 chain hash of the last event checked (null: empty log)"
    )
    head_position: int | None = Field(description="position of the last event checked")
    first_broken_position: int | None = Field(
        description="first position where the log no longer matches (null when intact)"
    )
    problem: str | None = Field(description="what broke there (null when intact)")
    checkpoints_checked: int = Field(ge=0, description="signed checkpoints found in the log")
