"""The bodies and answers of the signing routes (R23)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.fields import UtcDatetime


class SigningPassword(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str = Field(
        min_length=8,
        max_length=1024,
        description="the new signing password; never stored, only its argon2id hash",
        json_schema_extra={"format": "password", "writeOnly": True},
    )


class SigningStatusPublic(BaseModel):
    principal: str
    password_set: bool
    failures_in_a_row: int = Field(description="failed signatures since the last good one")
    locked_until: UtcDatetime | None = Field(description="signing is locked until then (R23)")
