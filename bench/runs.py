"""Which run a results document is, and whether a goal held in two full runs in a row.

Issue 18 counts a goal as met only when it is met in two full runs in a row: one good run on a
noisy shared machine may be luck. So every document records the commit it measured (and
whether the work tree differed from it), a full run moves the document it replaces to
`previous.json`, and a goal is "met in both runs" only when both documents are full runs of
the same clean commit and both met it. The judging functions are pure: they read documents.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from bench.report import LATEST, RESULTS

PREVIOUS = RESULTS / "previous.json"
REPO = RESULTS.parents[1]
# What a run writes itself: a second run after a first would otherwise always be "dirty".
OWN_OUTPUTS = ("bench/results", "README.md")

Document = dict[str, Any]


def provenance(repo: Path = REPO) -> dict[str, Any]:
    """The commit the run measured and whether the work tree differed from it (besides the
    bench's own outputs); both None outside a git checkout."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        )
        status = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", *(f":!{path}" for path in OWN_OUTPUTS)],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return {"commit": None, "dirty": None}
    return {"commit": head.stdout.strip(), "dirty": bool(status.stdout.strip())}


def is_full(document: Document) -> bool:
    """A full run of every metric (not quick, smoke or `--only`)."""
    return document.get("mode") == "full" and not document.get("only")


def same_clean_commit(one: Document, other: Document) -> bool:
    """Both runs measured the same commit, and neither had uncommitted changes."""
    first, second = one.get("git") or {}, other.get("git") or {}
    return (
        bool(first.get("commit"))
        and first.get("commit") == second.get("commit")
        and first.get("dirty") is False
        and second.get("dirty") is False
    )


def comparable(latest: Document, previous: Document | None) -> bool:
    """Whether the two documents may count as two full runs in a row of the same code, run
    the same way (as many API processes)."""
    return (
        previous is not None
        and is_full(latest)
        and is_full(previous)
        and same_clean_commit(latest, previous)
        and latest.get("workers", 1) == previous.get("workers", 1)
    )


def met_in_both(latest: Document, previous: Document | None) -> dict[str, bool | None]:
    """Per metric of `latest`: True when it met its goal in both runs; None for a figure (no
    goal to meet); False otherwise, including when the runs are not comparable."""
    both = comparable(latest, previous)
    before = (previous or {}).get("metrics", {})
    judged: dict[str, bool | None] = {}
    for name, metric in latest.get("metrics", {}).items():
        if is_figure(metric):
            judged[name] = None
            continue
        judged[name] = (
            both and metric.get("met") is True and before.get(name, {}).get("met") is True
        )
    return judged


def is_figure(metric: dict[str, Any]) -> bool:
    """A figure reported for its information, with no goal to meet (documents written before
    the `figure` flag said so in their goal)."""
    return bool(metric.get("figure")) or str(metric.get("goal", "")).startswith("none (a figure)")


def load(path: Path) -> Document | None:
    """The document at `path`, or None when there is none."""
    if not path.exists():
        return None
    document: Document = json.loads(path.read_text())
    return document


def rotate(latest: Path = LATEST, previous: Path = PREVIOUS) -> None:
    """Keep the document a full run is about to replace as the previous run."""
    if latest.exists():
        latest.replace(previous)
