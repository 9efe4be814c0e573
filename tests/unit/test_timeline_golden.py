"""The timeline's exact bytes for two fixed plans, so a change to the drawing is always deliberate.

The pictures are kept in tests/unit/golden/. After a change meant to alter them, write them anew
with `WRITE_GOLDEN=1 .venv/bin/python -m pytest tests/unit/test_timeline_golden.py` and look at
the new files before committing them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from api.schemas import MilestonePublic, PhasePublic, ProjectPublic
from api.timeline import render_timeline
from domain.entities import MilestoneStatus
from domain.rules import Health

GOLDEN = Path(__file__).parent / "golden"
TODAY = date(2026, 11, 26)


def _id(n: int) -> UUID:
    return UUID(int=n)


def _milestone(
    n: int,
    name: str,
    phase: int,
    due: int,
    *,
    baseline: int | None = None,
    original: int | None = None,
    status: MilestoneStatus = MilestoneStatus.NOT_ACHIEVED,
    achieved_at: datetime | None = None,
    health: Health = Health.ON_TRACK,
) -> MilestonePublic:
    """A milestone due `due` days after TODAY (baselines likewise, default: the due day)."""
    baseline = due if baseline is None else baseline
    original = baseline if original is None else original
    return MilestonePublic(
        id=_id(100 + n),
        name=name,
        phase_id=_id(phase),
        due=TODAY + timedelta(days=due),
        baseline_due=TODAY + timedelta(days=baseline),
        original_baseline_due=TODAY + timedelta(days=original),
        slip_days=due - baseline,
        achieved=status is MilestoneStatus.ACHIEVED,
        status=status,
        achieved_at=achieved_at,
        achieved_by="alice" if achieved_at else None,
        health=health,
        deliverable_ids=[_id(200 + n)],
    )


def _project(
    name: str, timezone: str, phases: list[str], milestones: list[MilestonePublic]
) -> ProjectPublic:
    created = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
    return ProjectPublic(
        id=_id(1),
        name=name,
        description="",
        timezone=timezone,
        risk_window_days=7,
        version=75,
        created_at=created,
        updated_at=created + timedelta(days=80),
        members=[],
        phases=[PhasePublic(id=_id(n + 10), name=p) for n, p in enumerate(phases)],
        deliverables=[],
        milestones=milestones,
    )


def demo_like() -> ProjectPublic:
    """The shape `milestones demo` loads: every health state, a slip, an empty future."""
    morning = datetime(2026, 11, 24, 9, 30, 0, 123456, tzinfo=UTC)
    return _project(
        "Customer Portal Relaunch",
        "UTC",
        ["Discovery", "Design", "Build", "Rollout"],
        [
            _milestone(
                1,
                "Requirements approved",
                10,
                2,
                status=MilestoneStatus.ACHIEVED,
                achieved_at=morning,
                health=Health.ACHIEVED_ON_TIME,
            ),
            _milestone(
                2,
                "Design signed off",
                11,
                -3,
                baseline=-10,
                status=MilestoneStatus.ACHIEVED,
                achieved_at=morning + timedelta(days=1),
                health=Health.ACHIEVED_LATE,
            ),
            _milestone(3, "Draft analysis submitted", 11, -2, health=Health.OVERDUE),
            _milestone(4, "Payment module ready", 12, 5, health=Health.AT_RISK),
            _milestone(5, "Migration rehearsal complete", 12, 30),
            _milestone(6, "Steering committee review", 12, 14),
            _milestone(7, "Go-live", 13, 60),
            _milestone(
                8,
                "Legacy shutdown",
                13,
                90,
                status=MilestoneStatus.CANCELLED,
                health=Health.CANCELLED,
            ),
        ],
    )


def long_plan() -> ProjectPublic:
    """Months of ticks, crowded labels in one phase, a label that turns left at the right edge,
    an achievement just after midnight in the project's zone, and a phase with nothing in it."""
    late_evening = datetime(2026, 6, 30, 22, 30, tzinfo=UTC)  # 1 July in Berlin
    crowded = [
        _milestone(10 + n, f"Site survey & permits <{n}>", 10, -150 + 3 * n, health=Health.OVERDUE)
        for n in range(4)
    ]
    return _project(
        'Bridge "North" R&D — a name long enough to be shortened in the phase column',
        "Europe/Berlin",
        ["Permits and surveys for the whole site", "Foundations", "Nothing yet"],
        [
            *crowded,
            _milestone(
                20,
                "Piles driven",
                11,
                -149,
                baseline=-160,
                original=-170,
                status=MilestoneStatus.ACHIEVED,
                achieved_at=late_evening,
                health=Health.ACHIEVED_LATE,
            ),
            _milestone(21, "Deck poured", 11, 200, baseline=230, health=Health.ON_TRACK),
        ],
    )


def long_names() -> ProjectPublic:
    """Names as long as the API accepts (issue 19): shortened with "…" to fit, the full text in
    the titles. A 160-character name just right of the phase column and one at the right edge,
    wide characters, a long phase name and a 200-character project name."""
    long = "Integration of the customer portal with the legacy billing system, phase two " * 3
    return _project(
        "W" * 200,
        "UTC",
        ["Procurement, contracting and vendor onboarding for the whole programme"],
        [
            _milestone(30, long[:160], 10, -80, health=Health.OVERDUE),
            _milestone(31, "請求システムとの統合" * 8, 10, 0),
            _milestone(32, long[:160], 10, 80),
        ],
    )


@pytest.mark.parametrize(
    ("name", "project", "as_of"),
    [
        ("timeline-demo.svg", demo_like, None),
        ("timeline-long-as-of.svg", long_plan, datetime(2026, 11, 26, 12, 0, tzinfo=UTC)),
        ("timeline-long-names.svg", long_names, None),
    ],
)
def test_the_timeline_draws_the_same_bytes_as_the_kept_picture(
    name: str, project: Callable[[], ProjectPublic], as_of: datetime | None
) -> None:
    drawn = render_timeline(project(), TODAY, as_of).encode()

    path = GOLDEN / name
    if os.environ.get("WRITE_GOLDEN") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(drawn)
    assert drawn == path.read_bytes()
