"""Webhook subscriptions as the API takes and shows them (`/v1/webhooks`)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

from pydantic import BaseModel, Field

from api.schemas.commands import Command
from api.schemas.fields import UtcDatetime

URL_FIELD = Field(min_length=1, max_length=2000, description="an http(s) URL; see docs/webhooks.md")


class WebhookCreate(Command):
    url: str = URL_FIELD
    project_id: UUID | None = Field(
        default=None,
        description="the project whose events are wanted; omitted: every project (admins only)",
    )
    event_types: list[str] = Field(
        default_factory=list, max_length=100, description="the `type`s wanted; empty: all"
    )
    active: bool = True


class WebhookChange(Command):
    url: str | None = Field(default=None, min_length=1, max_length=2000)
    event_types: list[str] | None = Field(default=None, max_length=100)
    active: bool | None = Field(
        default=None, description="true also resumes a paused subscription where it stopped"
    )


class WebhookReplay(Command):
    from_position: int = Field(ge=1, le=2**62, description="the first position delivered again")


class WebhookPublic(BaseModel):
    id: UUID
    project_id: UUID | None
    url: str
    event_types: list[str]
    active: bool
    created_by: str
    created_at: UtcDatetime
    position: int = Field(description="the last position delivered (or passed over)")
    notice_position: int = Field(description="the last notice delivered (or passed over)")
    failures: int = Field(description="failures in a row of the next delivery")
    next_attempt_at: UtcDatetime
    paused: bool
    paused_reason: str | None
    paused_at: UtcDatetime | None


class WebhookCreated(WebhookPublic):
    secret: str = Field(description="the signing secret (whsec_…); shown this once")


class WebhookList(BaseModel):
    webhooks: list[WebhookPublic]


class DeliveryPublic(BaseModel):
    id: int
    message_id: str
    position: int
    event_type: str
    attempt: int
    attempted_at: UtcDatetime
    status: str = Field(description="delivered (a 2xx) or failed")
    response_code: int | None
    latency_ms: int
    error: str | None
    notice_id: int | None = Field(description="the notice delivered (then position is 0)")


class DeliveryPage(BaseModel):
    deliveries: list[DeliveryPublic]
    next_before: int | None = Field(
        description="pass as `before` for older attempts; null on the last page"
    )


class NoticeData(BaseModel):
    milestone_id: UUID
    name: str
    due: date
    today: date = Field(description="the project's calendar day on which the notice was true")
    risk_window_days: int


class NoticePublic(BaseModel):
    """A derived notice (R20) as webhooks and the event stream carry it; not an event."""

    notice_id: int = Field(description="the notices' own order (not a position of the log)")
    project_id: UUID
    type: str = Field(description="MilestoneDueSoon or MilestoneOverdue")
    occurred_at: UtcDatetime = Field(description="when the service noticed it")
    data: NoticeData
