"""Webhook subscriptions (`/v1/webhooks`): made, read, changed and deleted by the managers of
their project (and admins), with their delivery log and replay. Delivering is the workers'
(`api.webhooks.deliverer`), never a request's."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Response
from fastapi.concurrency import run_in_threadpool

from api.access import Creator, WebhookManager
from api.deps import ContainerDep, ServingDep
from api.routes.queries import MinPosition
from api.schemas.webhooks import (
    DeliveryPage,
    DeliveryPublic,
    WebhookChange,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
    WebhookReplay,
)
from application.webhooks import Subscription

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown token"},
    404: {"description": "no such subscription, or not managed by the caller"},
    422: {"description": "a malformed body, an unknown event type, or a refused target"},
}


def _public(sub: Subscription) -> dict[str, Any]:
    return {
        "id": sub.id,
        "project_id": sub.project_id,
        "url": sub.url,
        "event_types": list(sub.event_types),
        "active": sub.active,
        "created_by": sub.created_by,
        "created_at": sub.created_at,
        "position": sub.position,
        "notice_position": sub.notice_position,
        "failures": sub.failures,
        "next_attempt_at": sub.next_attempt_at,
        "paused": sub.paused_reason is not None,
        "paused_reason": sub.paused_reason,
        "paused_at": sub.paused_at,
    }


@router.post("", status_code=201, response_model=WebhookCreated, responses=_ERRORS)
def create_webhook(
    body: WebhookCreate, caller: Creator, container: ContainerDep, response: Response
) -> dict[str, Any]:
    """Subscribe a URL to a project's events (its managers) or every project's (admins); the
    answer shows the signing secret, this once. Events committed after it are delivered."""
    sub, secret = container.webhooks.create(
        caller, body.project_id, body.url, body.event_types, body.active
    )
    response.headers["Location"] = f"/v1/webhooks/{sub.id}"
    return {**_public(sub), "secret": secret}


@router.get("", response_model=WebhookList, responses=_ERRORS)
async def list_webhooks(
    caller: Creator,
    container: ContainerDep,
    serving: ServingDep,
    project_id: UUID | None = None,
    min_position: MinPosition = None,
) -> dict[str, Any]:
    """The subscriptions the caller manages (of one project, with `project_id`). A member's
    list is read through the projects view (which projects it manages): `min_position` waits
    until that view has applied a position, so a project made a moment ago lists its
    subscriptions (as every view read does)."""
    await serving.waits.caught_up(caller.name, "projects", min_position)
    found = await run_in_threadpool(container.webhooks.visible, caller, project_id)
    return {"webhooks": [_public(s) for s in found]}


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=_ERRORS)
def get_webhook(webhook_id: UUID, caller: WebhookManager, container: ContainerDep) -> Any:
    """One subscription: its target, what it wants, where it is, and why it is paused."""
    return _public(container.webhooks.get(caller, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookPublic, responses=_ERRORS)
def change_webhook(
    webhook_id: UUID, body: WebhookChange, caller: WebhookManager, container: ContainerDep
) -> Any:
    """Change the target, the event types or the active flag; `active: true` resumes a paused
    subscription where it stopped."""
    return _public(
        container.webhooks.change(
            caller, webhook_id, url=body.url, event_types=body.event_types, active=body.active
        )
    )


@router.delete("/{webhook_id}", status_code=204, responses=_ERRORS)
def delete_webhook(webhook_id: UUID, caller: WebhookManager, container: ContainerDep) -> Response:
    """Delete the subscription and its delivery log; nothing more is delivered."""
    container.webhooks.delete(caller, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=_ERRORS)
def deliveries(
    webhook_id: UUID,
    caller: WebhookManager,
    container: ContainerDep,
    before: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The delivery log, newest attempt first: the event's position and type, the attempt's
    number, status, response code and latency, and the error when there was no answer."""
    rows = container.webhooks.deliveries(caller, webhook_id, before, limit)
    shown = [DeliveryPublic(id=log_id, **vars(d)) for log_id, d in rows]
    return {
        "deliveries": shown,
        "next_before": rows[-1][0] if len(rows) == limit else None,
    }


@router.post("/{webhook_id}/replay", response_model=WebhookPublic, responses=_ERRORS)
def replay(
    webhook_id: UUID, body: WebhookReplay, caller: WebhookManager, container: ContainerDep
) -> Any:
    """Deliver again every wanted event from `from_position` on, in order (a paused
    subscription resumes)."""
    return _public(container.webhooks.replay(caller, webhook_id, body.from_position))
