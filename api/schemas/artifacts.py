"""The answer of an artifact upload."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ArtifactPublic(BaseModel):
    """A stored file, named by its content."""

    sha256: str = Field(description="SHA-256 of the bytes, 64 lower-case hex digits")
    size: int = Field(ge=1, description="bytes")
    media_type: str = Field(description="the Content-Type it was uploaded with")
    filename: str | None = Field(description="the name Content-Disposition gave (null: none)")
