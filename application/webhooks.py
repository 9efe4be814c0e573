"""Webhook subscriptions: who may manage which, and the port that keeps them.

A subscription to one project's events is managed by that project's managers (and admins); one
to every project's events only by admins. Anyone else is told it does not exist (404), as for a
project. Subscriptions are configuration, not history: they are plain rows
(`adapters/postgres/webhooks.py`), never events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol
from uuid import UUID, uuid4

from application.access import GlobalRole, Principal, require_writer
from domain import events
from domain.errors import (
    DomainError,
    InvalidValueError,
    PermissionDeniedError,
    ProjectNotFoundError,
)
from domain.notices import NOTICE_TYPES, Notice
from domain.roles import ProjectRole

if TYPE_CHECKING:
    from application.ledger import Ledger

EVENT_TYPES_MAX = 100


class WebhookNotFoundError(ProjectNotFoundError):
    """No such subscription, or the caller may not manage it (its existence is not revealed)."""

    title = "Not found"


def _subclasses(cls: type[object]) -> set[str]:
    found: set[str] = set()
    sub: type[object]
    for sub in cls.__subclasses__():
        found.add(sub.__name__)
        found |= _subclasses(sub)
    return found


def known_event_types() -> frozenset[str]:
    """Every `type` a delivery may carry: the project's events and the derived notices."""
    return frozenset(_subclasses(events.ProjectEvent) | set(NOTICE_TYPES))


@dataclass(frozen=True)
class Subscription:
    id: UUID
    project_id: UUID | None
    url: str
    event_types: tuple[str, ...]
    active: bool
    created_by: str
    created_at: datetime
    position: int
    failures: int
    next_attempt_at: datetime
    paused_reason: str | None
    paused_at: datetime | None
    generation: int
    notice_position: int = 0

    def wants(self, project_id: UUID, type_name: str) -> bool:
        """Whether an event of `type_name` in `project_id` is delivered to this subscription."""
        if self.project_id is not None and self.project_id != project_id:
            return False
        return not self.event_types or type_name in self.event_types


@dataclass(frozen=True)
class Delivery:
    """One attempt to deliver one event."""

    message_id: str
    position: int
    event_type: str
    attempt: int
    attempted_at: datetime
    status: str  # delivered | failed
    response_code: int | None
    latency_ms: int
    error: str | None
    notice_id: int | None = None


@dataclass(frozen=True)
class RaisedNotice:
    """A notice as raised: its number (the order subscribers and streams follow) and time."""

    id: int
    notice: Notice
    noticed_at: datetime


@dataclass(frozen=True)
class NewSubscription:
    id: UUID
    project_id: UUID | None
    url: str
    event_types: tuple[str, ...]
    active: bool
    secret: str
    created_by: str
    position: int
    notice_position: int = 0


class WebhookStore(Protocol):
    def create(self, new: NewSubscription) -> Subscription: ...

    def get(self, webhook_id: UUID) -> Subscription | None: ...

    def subscriptions(self, project_ids: Sequence[UUID] | None) -> list[Subscription]: ...

    def project_ids(self, managed_by: str | None = None) -> list[UUID]: ...

    def change(
        self,
        webhook_id: UUID,
        *,
        url: str | None,
        event_types: tuple[str, ...] | None,
        active: bool | None,
        changed_by: str | None = None,
    ) -> Subscription | None: ...

    def delete(self, webhook_id: UUID) -> bool: ...

    def deliveries(
        self, webhook_id: UUID, before: int | None, limit: int
    ) -> list[tuple[int, Delivery]]: ...

    def replay(self, webhook_id: UUID, from_position: int) -> Subscription | None: ...

    def last_notice_id(self) -> int: ...


def check_event_types(types: Sequence[str]) -> tuple[str, ...]:
    """The event types as given (duplicates dropped), or 422 for an unknown one."""
    if len(types) > EVENT_TYPES_MAX:
        raise InvalidValueError("event_types", f"at most {EVENT_TYPES_MAX} types")
    known = known_event_types()
    unknown = sorted(set(types) - known)
    if unknown:
        raise InvalidValueError(
            "event_types", f"unknown event types {unknown}; known: {sorted(known)}"
        )
    return tuple(dict.fromkeys(types))


class Webhooks:
    """The subscriptions a principal may manage, and what it may do to them."""

    def __init__(
        self,
        ledger: Ledger,
        store: WebhookStore,
        check_target: Callable[[str], None],
        new_secret: Callable[[], str],
    ) -> None:
        """`check_target(url)` raises `InvalidValueError` for a URL that may not be a target."""
        self._ledger = ledger
        self._store = store
        self._check_target = check_target
        self._new_secret = new_secret

    def _require_manager(self, principal: Principal, project_id: UUID | None) -> None:
        require_writer(principal)
        if principal.role is GlobalRole.ADMIN:
            if project_id is None and principal.projects is not None:
                raise PermissionDeniedError(
                    "this token reaches only some projects; it may not subscribe to every one"
                )
            if project_id is not None:  # the project must exist (404 otherwise, or out of scope)
                self._ledger.admit(project_id, principal, keep_state=False)
            return
        if project_id is None:
            raise InvalidValueError(
                "project_id", "only admins may subscribe to every project; name a project"
            )
        self._ledger.admit(
            project_id, principal, ProjectRole.MANAGER, writes=True, keep_state=False
        )

    def _manages(self, principal: Principal, project_id: UUID | None) -> bool:
        if principal.role is GlobalRole.ADMIN:
            # An admin's token may be scoped: it manages the subscriptions of the projects it
            # reaches, and those of every project only when it reaches every project.
            if project_id is None:
                return principal.projects is None
            return principal.reaches(project_id)
        if project_id is None:
            return False
        try:
            self._ledger.admit(
                project_id, principal, ProjectRole.MANAGER, writes=True, keep_state=False
            )
        except DomainError:
            return False
        return True

    def create(
        self,
        principal: Principal,
        project_id: UUID | None,
        url: str,
        event_types: Sequence[str],
        active: bool,
    ) -> tuple[Subscription, str]:
        """A new subscription and its secret (shown this once). It delivers the events
        committed after it was made."""
        self._require_manager(principal, project_id)
        types = check_event_types(event_types)
        self._check_target(url)
        secret = self._new_secret()
        new = NewSubscription(
            id=uuid4(),
            project_id=project_id,
            url=url,
            event_types=types,
            active=active,
            secret=secret,
            created_by=principal.name,
            position=self._ledger.recorder.max_notification_id() or 0,
            notice_position=self._store.last_notice_id(),
        )
        return self._store.create(new), secret

    def get(self, principal: Principal, webhook_id: UUID) -> Subscription:
        found = self._store.get(webhook_id)
        if found is None or not self._manages(principal, found.project_id):
            raise WebhookNotFoundError(f"webhook {webhook_id} not found")
        return found

    def visible(self, principal: Principal, project_id: UUID | None) -> list[Subscription]:
        """The subscriptions the principal manages (of one project, when named)."""
        if principal.role is GlobalRole.ADMIN and principal.projects is None:
            return self._store.subscriptions(None if project_id is None else [project_id])
        if principal.role is GlobalRole.ADMIN:
            scoped = [project_id] if project_id is not None else sorted(principal.projects or ())
            return self._store.subscriptions([p for p in scoped if principal.reaches(p)])
        # A member's candidates come from the projects view (the projects it manages there),
        # each then checked on the project itself: a list costs the member's own projects, not
        # every project with a subscription (review finding F8).
        candidates = (
            [project_id]
            if project_id is not None
            else self._store.project_ids(managed_by=principal.name)
        )
        managed = [pid for pid in candidates if self._manages(principal, pid)]
        return self._store.subscriptions(managed) if managed else []

    def change(
        self,
        principal: Principal,
        webhook_id: UUID,
        *,
        url: str | None = None,
        event_types: Sequence[str] | None = None,
        active: bool | None = None,
    ) -> Subscription:
        """Change a subscription; `active=True` also resumes a paused one where it stopped."""
        self.get(principal, webhook_id)
        require_writer(principal)
        types = None if event_types is None else check_event_types(event_types)
        if url is not None:
            self._check_target(url)
        # The subscription now delivers for whoever changed it last (a manager resuming one
        # that was paused because its principal left the project makes it theirs).
        changed = self._store.change(
            webhook_id, url=url, event_types=types, active=active, changed_by=principal.name
        )
        if changed is None:
            raise WebhookNotFoundError(f"webhook {webhook_id} not found")
        return changed

    def delete(self, principal: Principal, webhook_id: UUID) -> None:
        self.get(principal, webhook_id)
        require_writer(principal)
        if not self._store.delete(webhook_id):
            raise WebhookNotFoundError(f"webhook {webhook_id} not found")

    def deliveries(
        self, principal: Principal, webhook_id: UUID, before: int | None, limit: int
    ) -> list[tuple[int, Delivery]]:
        self.get(principal, webhook_id)
        return self._store.deliveries(webhook_id, before, limit)

    def replay(self, principal: Principal, webhook_id: UUID, from_position: int) -> Subscription:
        """Deliver again every wanted event from `from_position` on (and resume if paused)."""
        self.get(principal, webhook_id)
        require_writer(principal)
        replayed = self._store.replay(webhook_id, from_position)
        if replayed is None:
            raise WebhookNotFoundError(f"webhook {webhook_id} not found")
        return replayed


def delivers_for_a_manager(ledger: Ledger, sub: Subscription) -> bool:
    """Whether the principal a subscription delivers for (its creator, or whoever changed it
    last) still manages it: the principal exists and is an admin, or manages the subscription's
    project now. The deliverer pauses one that does not, so a member removed from a project (or
    made a viewer) stops receiving its events at an address of their choosing."""
    directory = ledger.principals
    if directory is None:
        return True
    principal = directory.get(sub.created_by)
    if principal is None:
        return False
    if principal.role is GlobalRole.ADMIN:
        return True
    if sub.project_id is None:
        return False
    try:
        project = ledger.load(sub.project_id)
    except ProjectNotFoundError:
        return False
    return project.members.get(principal.name) == ProjectRole.MANAGER.value
