"""R18: the forecast through dependencies, and health at risk when it is later than the due."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from domain.rules import Forecast, Health, Planned, forecast_chain, forecasts
from domain.states import MilestoneStatus

from .helpers import ALICE, approved, milestone, new_project

OPEN, ACHIEVED, CANCELLED = (
    MilestoneStatus.NOT_ACHIEVED,
    MilestoneStatus.ACHIEVED,
    MilestoneStatus.CANCELLED,
)
D = date(2027, 3, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


def test_the_forecast_follows_a_chain_with_lags() -> None:
    plan = {
        "design": Planned(OPEN, day(10), None, {}),
        "build": Planned(OPEN, day(12), None, {"design": 5}),  # 10 + 5 = 15 > 12
        "test": Planned(OPEN, day(30), None, {"build": 20}),  # 15 + 20 = 35 > 30
        "ship": Planned(OPEN, day(60), None, {"test": 1}),  # 36 < 60: on its own due
    }

    found = forecasts(plan)

    assert found["design"] == Forecast(day(10))
    assert found["build"] == Forecast(day(15), "design")
    assert found["test"] == Forecast(day(35), "build")
    assert found["ship"] == Forecast(day(60))
    assert forecast_chain(found, "test") == ["test", "build", "design"]
    assert forecast_chain(found, "ship") == ["ship"]


def test_an_achieved_predecessor_counts_from_the_day_it_was_achieved() -> None:
    plan = {
        "design": Planned(ACHIEVED, day(10), day(20), {}),  # achieved ten days late
        "build": Planned(OPEN, day(21), None, {"design": 3}),
    }

    found = forecasts(plan)

    assert found["design"] == Forecast(day(20))
    assert found["build"] == Forecast(day(23), "design")


def test_a_cancelled_predecessor_pushes_nothing() -> None:
    plan = {
        "design": Planned(CANCELLED, day(50), None, {}),
        "build": Planned(OPEN, day(21), None, {"design": 3}),
    }

    found = forecasts(plan)

    assert "design" not in found
    assert found["build"] == Forecast(day(21))


def test_the_latest_of_several_predecessors_drives_the_forecast() -> None:
    plan = {
        "a": Planned(OPEN, day(10), None, {}),
        "b": Planned(OPEN, day(14), None, {}),
        "c": Planned(OPEN, day(11), None, {"a": 2, "b": 1}),
    }

    assert forecasts(plan)["c"] == Forecast(day(15), "b")


def test_a_chain_of_thousands_is_forecast_without_recursion() -> None:
    plan = {"m0": Planned(OPEN, day(1), None, {})}
    for n in range(1, 5_000):
        plan[f"m{n}"] = Planned(OPEN, day(0), None, {f"m{n - 1}": 1})

    found = forecasts(plan)

    assert found["m4999"].due == day(5_000)
    assert len(forecast_chain(found, "m4999")) == 5_000


def test_a_forecast_past_the_last_day_stays_on_the_last_day() -> None:
    plan = {
        "a": Planned(OPEN, date.max, None, {}),
        "b": Planned(OPEN, day(0), None, {"a": 30}),
    }

    assert forecasts(plan)["b"].due == date.max


def test_a_milestone_is_at_risk_outside_the_window_when_its_forecast_is_late() -> None:
    project = new_project(risk_window_days=7)
    today = datetime.now(UTC).date()
    late = milestone(project, approved(project, title="Old"), due=today - timedelta(days=5))
    project.achieve(late, actor=ALICE)  # achieved today: five days late
    build = milestone(project, approved(project, title="New"), due=today + timedelta(days=30))
    project.add_dependency(build, late, 40, actor=ALICE)

    forecast = project.forecasts()[str(build)]

    assert forecast == Forecast(today + timedelta(days=40), str(late))
    assert project.health(project.milestone(build), today) is Health.AT_RISK
    project.remove_dependency(build, late, actor=ALICE)
    assert project.health(project.milestone(build), today) is Health.ON_TRACK


def test_an_open_predecessor_makes_a_milestone_in_the_window_at_risk() -> None:
    project = new_project(risk_window_days=7)
    today = datetime.now(UTC).date()
    design = milestone(project, approved(project, title="A"), due=today + timedelta(days=3))
    build = milestone(project, approved(project, title="B"), due=today + timedelta(days=5))
    project.add_dependency(build, design, actor=ALICE)

    # R3 holds (its deliverable is approved) but R17 does not: it cannot be achieved today.
    assert project.health(project.milestone(build), today) is Health.AT_RISK
