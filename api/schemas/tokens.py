"""What the token routes take and answer (admins only): a token's scope, never a secret but once."""

from __future__ import annotations

from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from api.schemas.fields import UtcDatetime


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    principal: str = Field(min_length=1, max_length=200, description="whose token it is")
    projects: list[UUID] | None = Field(
        default=None,
        max_length=1000,
        description="reach only these projects (others answer 404); omit for every project",
    )
    read_only: bool = Field(default=False, description="reads only: commands answer 403")
    expires_at: AwareDatetime | None = Field(
        default=None, description="after this instant the token answers 401; omit for never"
    )


class TokenPublic(BaseModel):
    id: str = Field(description="the start of the token's hash: names it, cannot log in")
    principal: str
    projects: list[UUID] | None
    read_only: bool
    expires_at: UtcDatetime | None
    created_at: UtcDatetime
    state: str = Field(description="live, expired or revoked")


class TokenIssued(BaseModel):
    token: str = Field(description="the bearer token: shown this once, never stored")
    id: str
    principal: str
    projects: list[UUID] | None
    read_only: bool
    expires_at: UtcDatetime | None


class Me(BaseModel):
    """Who a token signs in as (`GET /v1/me`)."""

    principal: str
    role: str = Field(description="the global role: member, auditor or admin")
    projects: list[UUID] | None = Field(
        description="the token's scope: the only projects it reaches (null: every one)"
    )
    read_only: bool = Field(description="true when the token may only read")
