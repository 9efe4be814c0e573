"""The rules that more than one part of the product applies, each written once.

The aggregate (`domain.project`) decides with them, the views (`projections/`) show what they
decide, and the retrospective (`domain.retrospective`) replays with them, so a change to a rule is
one edit here. Rules only the aggregate enforces (R4's submission gate, R5's separation of duties,
R9's links, the last manager) stay beside its command methods as named `_check_*` guards; R14's
bounds are in `domain.validation`. `docs/architecture.md` lists the home of every rule.

- lifecycles (SPEC §1, R5, R6, R8, R10): which state each transition starts from and leads to;
  every event that moves a deliverable or a milestone names its transition (`Event.transition`);
- R3: the evidence gate of an achievement, with every blocking reason;
- R7: slip, in days;
- R12: on time or late, and a milestone's health;
- R16: dependencies between milestones form no cycle;
- R17: a milestone waits for its open predecessors (achieving it, reopening one of them);
- R18: the forecast through dependencies, and health at risk when it is later than the due date;
- R21, R26: when a review round's approvals make its quorum (distinct reviewers, each required
  group represented).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Generic, Protocol, TypeVar
from uuid import UUID
from zoneinfo import ZoneInfo

from domain.errors import Violation
from domain.states import DeliverableState, MilestoneStatus

S = TypeVar("S", DeliverableState, MilestoneStatus)


@dataclass(frozen=True)
class Transition(Generic[S]):
    """One step of a lifecycle: the states it may start from, and the state it leads to."""

    name: str
    sources: frozenset[S]
    target: S

    def allows(self, state: S) -> bool:
        return state in self.sources


_D = DeliverableState
_M = MilestoneStatus

# A deliverable: draft → in_review (submitted) → approved; a rejection returns it to draft; a
# reopen returns an in_review or approved one to draft (R6); cancelled is terminal (R10).
SUBMIT = Transition("submit", frozenset({_D.DRAFT}), _D.IN_REVIEW)
APPROVE = Transition("approve", frozenset({_D.IN_REVIEW}), _D.APPROVED)
REJECT = Transition("reject", frozenset({_D.IN_REVIEW}), _D.DRAFT)
REOPEN_DELIVERABLE = Transition("reopen", frozenset({_D.IN_REVIEW, _D.APPROVED}), _D.DRAFT)
CANCEL_DELIVERABLE = Transition(
    "cancel", frozenset({_D.DRAFT, _D.IN_REVIEW, _D.APPROVED}), _D.CANCELLED
)
# The state of a deliverable just defined.
DELIVERABLE_START = _D.DRAFT

# A milestone is achieved or not (R2); cancelled is terminal and only reachable from not
# achieved (R10); an achieved one is reopened back to not achieved (R8).
ACHIEVE = Transition("achieve", frozenset({_M.NOT_ACHIEVED}), _M.ACHIEVED)
REOPEN_MILESTONE = Transition("reopen", frozenset({_M.ACHIEVED}), _M.NOT_ACHIEVED)
CANCEL_MILESTONE = Transition("cancel", frozenset({_M.NOT_ACHIEVED}), _M.CANCELLED)
# The status of a milestone just defined.
MILESTONE_START = _M.NOT_ACHIEVED


def groups_of(principal: str, groups: Mapping[str, Iterable[str]]) -> list[str]:
    """R26: the names of the groups `principal` is a member of, in the project's order."""
    return [name for name, members in groups.items() if principal in members]


def missing_groups(stands_for: Mapping[str, Iterable[str]], required: Iterable[str]) -> list[str]:
    """R26: the required groups no approver of the round stood for (`stands_for`: each
    approver's groups when it approved)."""
    represented = {group for groups in stands_for.values() for group in groups}
    return [g for g in required if g not in represented]


def quorum_met(
    stands_for: Mapping[str, Iterable[str]], required_approvals: int, required_groups: Iterable[str]
) -> bool:
    """R21, R26: enough distinct approvers (the keys of `stands_for`), and each required group
    represented among them as they were when each approved."""
    enough = len(stands_for) >= required_approvals
    return enough and not missing_groups(stands_for, required_groups)


def evidence_frozen(state: DeliverableState) -> bool:
    """R6: criteria and evidence change only on a draft deliverable."""
    return state is not _D.DRAFT


def schedule_may_change(status: MilestoneStatus) -> bool:
    """R7, R9: a milestone's due date and links change only while it is not achieved (and not
    cancelled)."""
    return status is _M.NOT_ACHIEVED


# --- R3: the evidence gate ---------------------------------------------------------------------


class LinkedDeliverable(Protocol):
    """What R3 looks at in a deliverable a milestone links."""

    @property
    def id(self) -> UUID: ...

    @property
    def title(self) -> str: ...

    @property
    def state(self) -> DeliverableState: ...


def achievement_blockers(
    milestone_id: UUID, milestone_name: str, linked: Iterable[LinkedDeliverable]
) -> list[Violation]:
    """R3: every reason the milestone cannot be achieved now; empty when it can.

    It needs at least one linked deliverable that is not cancelled, and every linked deliverable
    that is not cancelled approved.
    """
    live = [d for d in linked if DeliverableState(d.state) is not _D.CANCELLED]
    if not live:
        return [
            Violation(
                "R3",
                f"milestone '{milestone_name}' has no linked deliverable that is not cancelled",
                {"milestone_id": str(milestone_id)},
            )
        ]
    return [
        Violation(
            "R3",
            f"deliverable '{d.title}' is {DeliverableState(d.state).value}, not approved",
            {"deliverable_id": str(d.id), "state": DeliverableState(d.state).value},
        )
        for d in live
        if DeliverableState(d.state) is not _D.APPROVED
    ]


# --- R7: slip ----------------------------------------------------------------------------------


def slip_days(due: date, baseline: date) -> int:
    """R7: the current due date minus the baseline, in days (positive: later than planned)."""
    return (due - baseline).days


# --- R12: on time, and health ------------------------------------------------------------------


class Health(StrEnum):
    CANCELLED = "cancelled"
    ACHIEVED_ON_TIME = "achieved_on_time"
    ACHIEVED_LATE = "achieved_late"
    OVERDUE = "overdue"
    AT_RISK = "at_risk"
    ON_TRACK = "on_track"


def today_in(timezone: str, now: datetime) -> date:
    """The project's calendar day at the instant `now`."""
    return now.astimezone(ZoneInfo(timezone)).date()


def achieved_on_time(achieved_at: datetime, due: date, timezone: str) -> bool:
    """R12: achieved on or before its due date, counted in the project's time zone."""
    return today_in(timezone, achieved_at) <= due


def milestone_health(
    *,
    status: MilestoneStatus,
    due: date,
    achieved_at: datetime | None,
    today: date,
    timezone: str,
    risk_window_days: int,
    achievable_now: bool,
    forecast_due: date | None = None,
) -> Health:
    """R12, derived at read time and never stored; `achievable_now` is whether R3 (and R17)
    would allow achieving the milestone today; R18: at risk, outside the window too, when its
    forecast (`forecasts`) is later than its due date."""
    if status is _M.CANCELLED:
        return Health.CANCELLED
    if status is _M.ACHIEVED:
        assert achieved_at is not None
        if achieved_on_time(achieved_at, due, timezone):
            return Health.ACHIEVED_ON_TIME
        return Health.ACHIEVED_LATE
    if today > due:
        return Health.OVERDUE
    if forecast_due is not None and forecast_due > due:
        return Health.AT_RISK
    if (due - today).days <= risk_window_days and not achievable_now:
        return Health.AT_RISK
    return Health.ON_TRACK


# --- R16, R17: dependencies ----------------------------------------------------------------
# A milestone's predecessors: milestone id -> {predecessor id -> lag in days}. Finish-to-finish:
# the milestone cannot finish before each predecessor has finished (plus the lag).
Dependencies = Mapping[str, Mapping[str, int]]


def dependency_cycle(dependencies: Dependencies, milestone: str, predecessor: str) -> list[str]:
    """R16: the cycle that making `milestone` depend on `predecessor` would close, as the path
    of ids `milestone` → `predecessor` → … → `milestone`; empty when it closes none.

    The new link closes a cycle when `milestone` is already reachable from `predecessor` by
    following predecessors (an iterative depth-first search, so a chain of any length)."""
    if milestone == predecessor:
        return [milestone, milestone]
    parents: dict[str, str] = {predecessor: milestone}
    stack = [predecessor]
    while stack:
        current = stack.pop()
        for earlier in dependencies.get(current, {}):
            if earlier in parents:
                continue
            parents[earlier] = current
            if earlier == milestone:
                back: list[str] = []  # from the closing link back to `predecessor`
                step = milestone
                while step != predecessor:
                    step = parents[step]
                    back.append(step)
                return [milestone, *reversed(back), milestone]
            stack.append(earlier)
    return []


def blocks_successor(status: MilestoneStatus) -> bool:
    """R17: a predecessor holds its successors back while it is not achieved (a cancelled one
    releases them)."""
    return status is _M.NOT_ACHIEVED


class Predecessor(Protocol):
    """What R17 looks at in a milestone another one depends on."""

    @property
    def id(self) -> UUID: ...

    @property
    def name(self) -> str: ...

    @property
    def status(self) -> MilestoneStatus: ...


def predecessor_blockers(predecessors: Iterable[Predecessor]) -> list[Violation]:
    """R17: one reason per predecessor that is still open (neither achieved nor cancelled)."""
    return [
        Violation(
            "R17",
            f"predecessor '{p.name}' is {MilestoneStatus(p.status).value}, not achieved",
            {"predecessor_id": str(p.id), "status": MilestoneStatus(p.status).value},
        )
        for p in predecessors
        if blocks_successor(MilestoneStatus(p.status))
    ]


# --- R18: the forecast ---------------------------------------------------------------------


@dataclass(frozen=True)
class Planned:
    """What R18 reads of one milestone: its status, due date, the day it was achieved (in the
    project's time zone) and its predecessors with their lags."""

    status: MilestoneStatus
    due: date
    achieved_on: date | None
    predecessors: Mapping[str, int]


@dataclass(frozen=True)
class Forecast:
    """The day a milestone is forecast to finish, and the predecessor that pushes it past its
    own due date (None when nothing does)."""

    due: date
    driver: str | None = None


def _after(day: date, lag: int) -> date:
    try:
        return day + timedelta(days=lag)
    except OverflowError:
        return date.max


def forecasts(plan: Mapping[str, Planned]) -> dict[str, Forecast]:
    """R18: for each milestone that is not cancelled, its forecast finish.

    An achieved milestone finished on the day it was achieved. An open one finishes on
    max(its due, each predecessor's forecast + lag), a cancelled predecessor counting for
    nothing (R17 released it); the predecessor that gives the maximum, when later than the
    due date, is its `driver` (the first such in the order the dependencies were set).
    Computed depth-first without recursion, each milestone once: O(milestones + dependencies).
    """
    found: dict[str, Forecast | None] = {}
    entered: set[str] = set()
    for start in plan:
        stack = [start]
        while stack:
            key = stack[-1]
            if key in found:
                stack.pop()
                continue
            milestone = plan[key]
            if milestone.status is _M.CANCELLED:
                found[key] = None
                continue
            if milestone.status is _M.ACHIEVED:
                found[key] = Forecast(milestone.achieved_on or milestone.due)
                continue
            entered.add(key)
            # R16 keeps dependencies acyclic; `entered` makes a cycle end the walk anyway.
            waiting = [
                p
                for p in milestone.predecessors
                if p in plan and p not in found and p not in entered
            ]
            if waiting:
                stack.extend(waiting)
                continue
            best, driver = milestone.due, None
            for predecessor, lag in milestone.predecessors.items():
                before = found.get(predecessor)
                if before is not None and _after(before.due, lag) > best:
                    best, driver = _after(before.due, lag), predecessor
            found[key] = Forecast(best, driver)
    return {key: f for key, f in found.items() if f is not None}


def forecast_chain(found: Mapping[str, Forecast], milestone: str) -> list[str]:
    """R18: the milestone, the predecessor that drives its forecast, that one's driver, … up
    to the first that is on its own due date (or achieved): the chain that makes it late."""
    chain = [milestone]
    driver = found[milestone].driver if milestone in found else None
    while driver is not None and driver not in chain:
        chain.append(driver)
        driver = found[driver].driver if driver in found else None
    return chain
