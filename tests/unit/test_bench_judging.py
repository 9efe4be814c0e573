"""Issue 18's judging of the benchmark: a goal counts as met only in two full runs in a row of
the same clean commit, the goals with two conditions need both, and the README's table is
rewritten between its markers only. Documents are built by hand: no run, no timing."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from bench import as_of, latency, readme, runs
from bench.report import figure, measured, missing, table

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def _metric(met: bool) -> dict[str, Any]:
    return measured(2.0, 1.0, unit="ratio", goal="ratio ≥ 1.5", met=met)


def _run(
    *,
    met: bool = True,
    commit: str | None = COMMIT,
    dirty: bool | None = False,
    mode: str = "full",
    only: list[str] | None = None,
    **metrics: dict[str, Any],
) -> dict[str, Any]:
    return {
        "mode": mode,
        "only": only,
        "seconds": 600.0,
        "started": "2026-12-05 09:00 UTC",
        "machine": "2 CPU",
        "git": {"commit": commit, "dirty": dirty},
        "metrics": {"write_floor": _metric(met), **metrics},
    }


def test_a_goal_met_in_two_full_runs_of_the_same_clean_commit_is_met_in_both() -> None:
    assert runs.met_in_both(_run(), _run()) == {"write_floor": True}


def test_a_goal_missed_by_the_previous_run_is_not_met_in_both() -> None:
    assert runs.met_in_both(_run(), _run(met=False)) == {"write_floor": False}


def test_a_goal_missed_by_the_latest_run_is_not_met_in_both() -> None:
    assert runs.met_in_both(_run(met=False), _run()) == {"write_floor": False}


def test_runs_of_different_commits_do_not_count_as_two_in_a_row() -> None:
    assert runs.met_in_both(_run(), _run(commit="f" * 40)) == {"write_floor": False}


@pytest.mark.parametrize(("latest", "previous"), [(True, False), (False, True), (None, False)])
def test_a_run_with_uncommitted_changes_or_an_unknown_tree_does_not_count(
    latest: bool | None, previous: bool | None
) -> None:
    assert runs.met_in_both(_run(dirty=latest), _run(dirty=previous)) == {"write_floor": False}


def test_runs_without_a_recorded_commit_do_not_count() -> None:
    assert runs.met_in_both(_run(commit=None), _run(commit=None)) == {"write_floor": False}


@pytest.mark.parametrize("other", [{"mode": "quick"}, {"mode": "smoke"}, {"only": ["write_floor"]}])
def test_a_quick_smoke_or_partial_run_is_not_a_full_run(other: dict[str, Any]) -> None:
    assert runs.met_in_both(_run(), _run(**other)) == {"write_floor": False}
    assert runs.met_in_both(_run(**other), _run()) == {"write_floor": False}


def test_runs_with_different_numbers_of_api_processes_do_not_count_as_two_in_a_row() -> None:
    assert runs.met_in_both(_run() | {"workers": 2}, _run()) == {"write_floor": False}


def test_without_a_previous_run_no_goal_is_met_in_both() -> None:
    assert runs.met_in_both(_run(), None) == {"write_floor": False}


def test_a_metric_the_previous_run_did_not_have_is_not_met_in_both() -> None:
    latest = _run(history_ratio=_metric(True))

    assert runs.met_in_both(latest, _run())["history_ratio"] is False


def test_a_metric_that_failed_or_is_missing_is_not_met_in_both() -> None:
    gone = missing(unit="ratio", goal="ratio ≥ 1.5", reason="hey is not installed")

    assert runs.met_in_both(_run(lag=gone), _run(lag=gone))["lag"] is False


def test_a_figure_has_no_goal_to_be_met_in_both() -> None:
    scale = figure(2.0, 1.0, unit="commands/s", what="2 processes ÷ 1")

    assert runs.met_in_both(_run(scale_out=scale), _run(scale_out=scale))["scale_out"] is None


def test_a_full_run_keeps_the_document_it_replaces_as_the_previous_one(tmp_path: Path) -> None:
    latest, previous = tmp_path / "latest.json", tmp_path / "previous.json"
    previous.write_text('{"old": true}')
    latest.write_text('{"mode": "full"}')

    runs.rotate(latest, previous)

    assert not latest.exists()
    assert runs.load(previous) == {"mode": "full"}


def test_the_latency_goal_needs_both_of_its_conditions() -> None:
    assert latency.met(25.0, 15.0)
    assert not latency.met(25.1, 10.0)
    assert not latency.met(10.0, 15.1)


def test_the_as_of_goal_needs_the_small_and_the_big_project() -> None:
    assert as_of.met(1.5, 1.5)
    assert not as_of.met(1.51, 1.0)
    assert not as_of.met(1.0, 1.51)


def test_the_table_says_which_goals_were_met_in_both_runs() -> None:
    latest = _run(lag=_metric(False), scale_out=figure(2.0, 1.0, unit="commands/s", what="2 ÷ 1"))
    rows = table(latest["metrics"], runs.met_in_both(latest, _run())).splitlines()

    verdicts = {row.split(" | ")[0]: row.rsplit(" | ", 2)[1:] for row in rows[2:]}

    assert rows[0].endswith("| met | met in both runs |")
    assert verdicts == {
        "| `write_floor`": ["yes", "yes |"],
        "| `lag`": ["no", "no |"],
        "| `scale_out`": ["—", "— |"],
    }


def test_the_readme_table_is_replaced_between_its_markers_only() -> None:
    text = f"# Title\n\nprose before\n{readme.BEGIN}\nold table\n{readme.END}\nprose after\n"

    updated = readme.update(text, readme.block(_run(), _run()))

    assert updated.startswith(f"# Title\n\nprose before\n{readme.BEGIN}\n")
    assert updated.endswith(f"\n{readme.END}\nprose after\n")
    assert "old table" not in updated
    assert "| `write_floor` |" in updated
    assert "the same clean commit" in updated


def test_a_readme_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        readme.update("# Title\n", "table")


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_the_run_records_its_commit_and_ignores_its_own_outputs(tmp_path: Path) -> None:
    _git(tmp_path, "init", "-q")
    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "bench" / "results" / "latest.json").write_text("{}")
    (tmp_path / "README.md").write_text("# Title\n")
    (tmp_path / "app.py").write_text("x = 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")

    (tmp_path / "bench" / "results" / "latest.json").write_text('{"run": 1}')
    (tmp_path / "bench" / "results" / "previous.json").write_text("{}")
    (tmp_path / "README.md").write_text("# Title\n\nthe table\n")
    after_a_run = runs.provenance(tmp_path)
    (tmp_path / "app.py").write_text("x = 2\n")
    after_an_edit = runs.provenance(tmp_path)

    assert len(after_a_run["commit"] or "") == 40
    assert after_a_run["dirty"] is False
    assert after_an_edit["dirty"] is True
