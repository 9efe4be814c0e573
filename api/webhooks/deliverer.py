"""Pushes the feed to webhook subscriptions, from the workers (where the views run).

One `Deliverer` per worker process. Its thread holds a session (like the views' runner,
`projections.claims`) on which it takes one advisory lock per subscription: the lock's holder is
the subscription's one active deliverer, and when a worker dies its session and its locks go
with it, so another worker takes the subscription over on its next look (every poll interval).

Each subscription it holds is delivered by a thread of its own, so a slow or failing target
delays only its own deliveries. That thread reads the events after the subscription's position
(a pooled connection, given back at once), POSTs the next one wanted with no transaction open,
then writes the attempt and the new position in one short transaction guarded by the position
and generation it read: at-least-once, in position order. A failure (no answer, a timeout, a
non-2xx) is retried after an exponential backoff with jitter; after `max_failures` in a row the
subscription is paused with the reason, and resumes where it stopped.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from adapters.postgres.webhooks import PostgresWebhooks
from api.periodic import Periodic
from api.presenters_history import feed_event
from api.schemas.history import FeedEvent
from api.webhooks import signing, targets
from api.webhooks.noticer import Noticer, notice_json
from application.ledger import Ledger
from application.webhooks import (
    Delivery,
    RaisedNotice,
    Subscription,
    delivers_for_a_manager,
)
from domain.events import ProjectEvent
from projections import claims

log = logging.getLogger(__name__)

# The first key of every subscription's lock ("MW"); the second is derived from its id.
WEBHOOK_LOCK_CLASS = 0x4D57
PAGE = 500  # events read at a time after a subscription's position
# Delivered events are recorded (logged, the position moved) this many at a time, or this
# often, whichever comes first: a worker that dies re-sends at most one batch.
RECORD_BATCH = 50
RECORD_EVERY = 0.1
# A subscription with nothing to deliver looks again after this long, unless a commit's NOTIFY
# wakes it first (notices, and changes made through the API, do not NOTIFY).
IDLE_RECHECK = 5.0
ERROR_MAX = 500  # characters of an error kept in the delivery log


@dataclass(frozen=True)
class DeliveryPolicy:
    timeout: float = 10.0
    allow_private: bool = False
    max_failures: int = 10
    retry_first: float = 1.0
    retry_max: float = 300.0
    poll_interval: float = 0.5
    # Subscriptions one worker delivers at once (a thread each); the others are left to the
    # other workers, or wait for a free place.
    max_held: int = 64

    def retry_in(self, failures: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before the next try after `failures` failures in a row: `retry_first`
        doubled each time up to `retry_max`, then between half of it and all of it."""
        ceiling = min(self.retry_max, self.retry_first * 2 ** max(failures - 1, 0))
        return float(ceiling * (0.5 + 0.5 * rand()))


def message_id(sub: Subscription, position: int) -> str:
    """`webhook-id`: one event for one subscription, the same for every attempt and replay."""
    return f"msg_{sub.id.hex}_{position}"


def notice_message_id(sub: Subscription, notice_id: int) -> str:
    """`webhook-id` of a notice: one notice for one subscription, the same on every attempt."""
    return f"msg_{sub.id.hex}_n{notice_id}"


def body_of(event: ProjectEvent, position: int) -> bytes:
    """The delivery's body: the event's item of `/v1/events`, rendered by the same code."""
    return FeedEvent.model_validate(feed_event(event, position)).model_dump_json().encode()


class SubscriptionWorker:
    """Delivers one subscription's events, one at a time in position order, until stopped."""

    def __init__(
        self,
        subscription_id: UUID,
        ledger: Ledger,
        store: PostgresWebhooks,
        policy: DeliveryPolicy,
    ) -> None:
        self.id = subscription_id
        self._ledger = ledger
        self._store = store
        self._policy = policy
        self.stop = threading.Event()
        self.wake = threading.Event()
        # Since when it has found nothing to deliver (None: busy), so that a deliverer at its
        # limit lets caught-up subscriptions go to those still waiting for a worker.
        self.idle_since: float | None = None
        self.thread = threading.Thread(
            target=self._run, name=f"webhook-{subscription_id}", daemon=True
        )

    def _sleep(self, seconds: float, *, wakeable: bool) -> None:
        if wakeable:
            self.wake.wait(seconds)
            self.wake.clear()
        else:
            self.stop.wait(seconds)

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                if not self._step():
                    return
            except Exception:
                log.warning("webhook %s: delivering failed; retrying", self.id, exc_info=True)
                self.stop.wait(self._policy.poll_interval)

    def _step(self) -> bool:
        """One look at the subscription: deliver what is due; False once it is not to be
        delivered (deleted, inactive, paused)."""
        sub = self._store.get(self.id)
        if sub is None or not sub.active or sub.paused_reason is not None:
            return False
        wait = (sub.next_attempt_at - datetime.now(UTC)).total_seconds()
        if wait > 0:
            self.stop.wait(min(wait, self._policy.poll_interval))
            return True
        if not delivers_for_a_manager(self._ledger, sub):
            reason = (
                f"{sub.created_by} no longer manages this subscription's project; a manager "
                "resuming it (PATCH active=true) makes it theirs"
            )
            if self._store.pause(sub, reason):
                log.warning("webhook %s paused: %s", sub.id, reason)
            return False
        secret = self._store.secret(sub.id)
        if secret is None:
            return False
        raised = self._store.notices_after(sub.notice_position, PAGE)
        if raised:
            return self._notices(sub, secret, raised)
        notifications = self._ledger.store.read_page(sub.position, PAGE)
        if not notifications:
            if self.idle_since is None:
                self.idle_since = time.monotonic()
            self._sleep(max(IDLE_RECHECK, self._policy.poll_interval), wakeable=True)
            return True
        self.idle_since = None
        return self._events(sub, secret, notifications)

    def _events(self, sub: Subscription, secret: str, notifications: Sequence[Any]) -> bool:
        """Deliver the wanted events of a page in order. Successes are recorded in batches
        (`RECORD_BATCH` attempts, or every `RECORD_EVERY` s): a worker that dies loses at most
        one batch of records, whose events then go out again (at least once)."""
        done: list[Delivery] = []  # delivered, not recorded yet
        reached = sub.position  # where the subscription will be once `done` is recorded
        recorded_at = time.monotonic()
        for notification in notifications:
            if self.stop.is_set():
                break
            event = self._ledger.mapper.to_domain_event(notification)
            position = notification.id
            if not isinstance(event, ProjectEvent) or not sub.wants(
                event.originator_id, event.type_name
            ):
                continue
            body = body_of(event, position)
            attempt = self._attempt(sub, secret, body, event.type_name, position, None)
            if attempt.status != "delivered":
                # Record what went before and stand just before this event, then its failure.
                if not self._store.record_delivered(sub, done, position - 1):
                    return True
                self._record_failure(replace(sub, position=position - 1), attempt)
                return True
            done.append(attempt)
            reached = position
            sub = replace(sub, failures=0)
            if len(done) >= RECORD_BATCH or time.monotonic() - recorded_at >= RECORD_EVERY:
                if not self._store.record_delivered(sub, done, reached):
                    return True  # a replay or another deliverer moved it: look again
                sub = replace(sub, position=reached)
                done, recorded_at = [], time.monotonic()
        else:
            # The whole page was looked at: pass over the unwanted events at its end too.
            reached = max(reached, notifications[-1].id)
        if reached > sub.position:
            self._store.record_delivered(sub, done, reached)
        return True

    def _notices(self, sub: Subscription, secret: str, raised: list[RaisedNotice]) -> bool:
        """Deliver the wanted notices among `raised` (R20), in their order."""
        for item in raised:
            if self.stop.is_set():
                return True
            notice = item.notice
            if not sub.wants(notice.project_id, notice.kind):
                continue
            if item.id - 1 > sub.notice_position:
                if not self._store.skip_notices_to(sub, item.id - 1):
                    return True
                sub = replace(sub, notice_position=item.id - 1)
            body = notice_json(item).encode()
            moved = self._deliver(sub, secret, body, notice.kind, 0, item.id)
            if moved is None:
                return True
            sub = moved
        if raised[-1].id > sub.notice_position:
            self._store.skip_notices_to(sub, raised[-1].id)
        return True

    def _attempt(
        self,
        sub: Subscription,
        secret: str,
        body: bytes,
        event_type: str,
        position: int,
        notice_id: int | None,
    ) -> Delivery:
        """POST one event (or notice), with no transaction open; the attempt as logged."""
        if notice_id is None:
            msg, key = message_id(sub, position), str(position)
        else:
            msg, key = notice_message_id(sub, notice_id), f"n{notice_id}"
        headers = {**signing.headers(secret, msg, body), "idempotency-key": key}
        attempted_at = datetime.now(UTC)
        code: int | None = None
        error: str | None = None
        try:
            answer = targets.post(
                sub.url,
                body,
                headers,
                timeout=self._policy.timeout,
                allow_private=self._policy.allow_private,
            )
            code, latency = answer.status, answer.latency_ms
            if not 200 <= code < 300:
                error = f"answered {code}"
        except targets.DeliveryError as failure:
            latency, error = failure.latency_ms, failure.reason[:ERROR_MAX]
        return Delivery(
            message_id=msg,
            position=position,
            event_type=event_type,
            attempt=sub.failures + 1,
            attempted_at=attempted_at,
            status="delivered" if error is None else "failed",
            response_code=code,
            latency_ms=latency,
            error=error,
            notice_id=notice_id,
        )

    def _record_failure(self, sub: Subscription, attempt: Delivery) -> None:
        """Log a failed attempt: a retry after the backoff, or a pause after too many."""
        failures = sub.failures + 1
        pause = None
        retry_in: timedelta | None = None
        if failures >= self._policy.max_failures:
            pause = f"paused after {failures} failed deliveries in a row; the last: {attempt.error}"
        else:
            retry_in = timedelta(seconds=self._policy.retry_in(failures))
        if self._store.record(sub, attempt, retry_in=retry_in, pause_reason=pause) and pause:
            log.warning("webhook %s paused: %s", sub.id, pause)

    def _deliver(
        self,
        sub: Subscription,
        secret: str,
        body: bytes,
        event_type: str,
        position: int,
        notice_id: int | None,
    ) -> Subscription | None:
        """POST one event (or notice) and record it at once; the subscription moved past it,
        or None when it was not (a failure, or the subscription changed meanwhile)."""
        attempt = self._attempt(sub, secret, body, event_type, position, notice_id)
        if attempt.status != "delivered":
            self._record_failure(sub, attempt)
            return None
        if not self._store.record(sub, attempt, retry_in=None, pause_reason=None):
            return None
        if notice_id is not None:
            return replace(sub, notice_position=notice_id, failures=0)
        return replace(sub, position=position, failures=0)


class Deliverer:
    """Claims subscriptions for this worker and runs a `SubscriptionWorker` for each."""

    def __init__(
        self,
        ledger: Ledger,
        store: PostgresWebhooks,
        conninfo: Callable[[], str],
        policy: DeliveryPolicy,
        holder: str | None = None,
        noticer: Noticer | None = None,
        jobs: Sequence[Periodic] = (),
    ) -> None:
        """`noticer` (R20's notices) and `jobs` (the delivery log's pruning) run beside the
        deliverer, started and stopped with it."""
        self._noticer = noticer
        self._jobs = [*([noticer] if noticer is not None else []), *jobs]
        if noticer is not None:
            noticer.on_raised = self._wake_all
        self._ledger = ledger
        self._store = store
        self._conninfo = conninfo
        self._policy = policy
        self.holder = holder or claims.worker_id()
        self._channel: str | None = getattr(ledger.recorder, "channel_name", None)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workers: dict[UUID, SubscriptionWorker] = {}

    @property
    def held(self) -> frozenset[UUID]:
        return frozenset(self._workers)

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-deliverer", daemon=True)
        self._thread.start()
        for job in self._jobs:
            job.start()

    def stop(self, timeout: float | None = None) -> None:
        for job in self._jobs:
            job.stop()
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def _run(self) -> None:
        session: psycopg.Connection[Any] | None = None
        while not self._stop.is_set():
            try:
                if session is None:
                    session = claims.connect(self._conninfo(), self.holder, self._channel)
                self._claim(session)
                self._wait_for_events(session)
            except Exception:
                log.warning("webhook deliverer failed; reconnecting", exc_info=True)
                self._let_go_all()  # the locks die with the session: others take over
                _close(session)
                session = None
                self._stop.wait(self._policy.poll_interval)
        self._let_go_all()
        _close(session)

    def _claim(self, session: psycopg.Connection[Any]) -> None:
        wanted = set(self._store.deliverable_ids())
        for sub_id, worker in list(self._workers.items()):
            if sub_id not in wanted or not worker.thread.is_alive():
                worker.stop.set()
                worker.wake.set()
                worker.thread.join(self._policy.timeout + 1)
                del self._workers[sub_id]
                session.execute(
                    "SELECT pg_advisory_unlock(%s, %s)",
                    (WEBHOOK_LOCK_CLASS, claims.lock_key(str(sub_id))),
                )
        waiting = list(wanted - set(self._workers))
        if waiting and len(self._workers) >= self._policy.max_held:
            self._let_go_idle(session, len(waiting))
        # In random order: at its limit, a deliverer must not take back the same ones each
        # round while others wait.
        random.shuffle(waiting)
        for sub_id in waiting:
            if len(self._workers) >= self._policy.max_held:
                break
            row = session.execute(
                "SELECT pg_try_advisory_lock(%s, %s)",
                (WEBHOOK_LOCK_CLASS, claims.lock_key(str(sub_id))),
            ).fetchone()
            if row and row[0]:
                worker = SubscriptionWorker(sub_id, self._ledger, self._store, self._policy)
                self._workers[sub_id] = worker
                worker.thread.start()
                log.info("deliverer %s now delivers webhook %s", self.holder, sub_id)

    def _let_go_idle(self, session: psycopg.Connection[Any], wanted: int) -> None:
        """Let go of up to `wanted` subscriptions that have had nothing to deliver for a poll
        interval or more (the longest idle first), so that subscriptions waiting for a worker
        get one; they are claimed again (here or elsewhere) when they have something due."""
        now = time.monotonic()
        idle = sorted(
            (
                (worker.idle_since, sub_id)
                for sub_id, worker in self._workers.items()
                if worker.idle_since is not None
                and now - worker.idle_since >= self._policy.poll_interval
            ),
        )
        for _, sub_id in idle[:wanted]:
            worker = self._workers.pop(sub_id)
            worker.stop.set()
            worker.wake.set()
            worker.thread.join(self._policy.timeout + 1)
            session.execute(
                "SELECT pg_advisory_unlock(%s, %s)",
                (WEBHOOK_LOCK_CLASS, claims.lock_key(str(sub_id))),
            )

    def _wait_for_events(self, session: psycopg.Connection[Any]) -> None:
        """Until a NOTIFY (then every worker is woken) or the poll interval."""
        if self._channel is None:
            self._stop.wait(self._policy.poll_interval)
            self._wake_all()
            return
        deadline = time.monotonic() + self._policy.poll_interval
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            notified = False
            for _ in session.notifies(timeout=min(remaining, 0.1), stop_after=1):
                notified = True
            if notified:
                for _ in session.notifies(timeout=0):
                    pass
                self._wake_all()

    def _wake_all(self) -> None:
        # A copy: the noticer's thread calls this too, while this thread may change the dict.
        for worker in list(self._workers.values()):
            worker.wake.set()

    def _let_go_all(self) -> None:
        workers, self._workers = self._workers, {}
        for worker in workers.values():
            worker.stop.set()
            worker.wake.set()
        for worker in workers.values():
            worker.thread.join(self._policy.timeout + 1)


def _close(conn: psycopg.Connection[Any] | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except Exception:
            log.debug("closing the deliverer's session failed", exc_info=True)


def policy_of(settings: Any) -> DeliveryPolicy:
    """The delivery policy the settings describe (`api.settings.Settings`)."""
    return DeliveryPolicy(
        timeout=settings.webhook_timeout,
        allow_private=settings.webhook_allow_private,
        max_failures=settings.webhook_max_failures,
        retry_first=settings.webhook_retry_first,
        retry_max=settings.webhook_retry_max,
        poll_interval=settings.poll_interval,
    )
