"""The README's table of the latest full run, written between two markers by `make bench`.

A full run of every metric rewrites it (`python -m bench`); `python -m bench.readme` rewrites
it from `bench/results/latest.json` and `previous.json` alone (after a merge, say). Only what
lies between the markers is replaced: the prose around it is written by hand.
"""

from __future__ import annotations

import sys
from pathlib import Path

from bench import runs
from bench.report import LATEST, table

README = runs.REPO / "README.md"
BEGIN = "<!-- bench: table begins (written by `make bench`, bench/readme.py) -->"
END = "<!-- bench: table ends -->"


def _run(document: runs.Document) -> str:
    """One run in a line: how long, when, what it measured, how loaded the machine was."""
    git = document.get("git") or {}
    commit = f"commit `{git['commit'][:10]}`" if git.get("commit") else "no commit recorded"
    if git.get("dirty"):
        commit += " with uncommitted changes"
    load = document.get("load_average") or {}
    loaded = (
        f", load average {load['start']:.1f} at the start and {load['end']:.1f} at the end"
        if load
        else ""
    )
    started = document.get("started", "")
    return f"{document['seconds']:,.0f} s, {started} {commit}{loaded}".replace("  ", " ")


def block(latest: runs.Document, previous: runs.Document | None) -> str:
    """The text that goes between the markers: both runs in a line each, then the table."""
    lines = [f"Latest full run: {_run(latest)}, on {latest.get('machine', '?')}."]
    if previous is None:
        lines.append("No previous full run is kept, so no goal is met in both runs yet.")
    else:
        verdict = (
            "the same clean commit"
            if runs.comparable(latest, previous)
            else "not a full run of the same clean commit, so no goal counts as met in both runs"
        )
        lines.append(f"Previous full run: {_run(previous)}: {verdict}.")
    both = runs.met_in_both(latest, previous)
    return "\n".join([" ".join(lines), "", table(latest["metrics"], both)])


def update(text: str, inner: str) -> str:
    """`text` with what lies between the markers replaced by `inner`."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README has no {BEGIN!r} … {END!r} markers")
    return f"{text[: start + len(BEGIN)]}\n{inner}\n{text[end:]}"


def write(latest: runs.Document, previous: runs.Document | None, path: Path = README) -> None:
    path.write_text(update(path.read_text(), block(latest, previous)))


def main() -> int:
    latest = runs.load(LATEST)
    if latest is None:
        print(f"no {LATEST} to write the README from", file=sys.stderr)
        return 1
    write(latest, runs.load(runs.PREVIOUS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
