"""Every walk-through of the README runs as written, after `milestones demo` (issue 19).

A newcomer met the curl walk-through failing at once after the demo ("principal 'alice' already
exists") and the auditor's walk-through using `$DAVE` and `$P` that nothing set. Here a real
`milestones serve` runs on a database of its own, `milestones demo` prints its `export` lines,
and each `sh` block of the README's walk-through sections runs in bash, in order, with those
lines pasted first — as a reader would. What the README says the commands print (its `text`
blocks) is checked where it does not depend on the day or the ids.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.integration.processes import MILESTONES, REPO, run, running_service

SECTIONS = ("## Walk-through with curl", "## An auditor's walk-through", "## A retrospective's")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)


def walkthrough_blocks(readme: str) -> list[tuple[str, str]]:
    """(language, text) of every fenced block in the walk-through sections, in order."""
    blocks: list[tuple[str, str]] = []
    for heading in SECTIONS:
        start = readme.index(heading)
        end = readme.find("\n## ", start + len(heading))
        section = readme[start : end if end != -1 else len(readme)]
        blocks += [(m.group(1), m.group(2)) for m in FENCE.finditer(section)]
    return blocks


def test_the_readmes_walkthroughs_run_as_written_after_the_demo(
    database_url: str, tmp_path: Path
) -> None:
    missing = [tool for tool in ("bash", "curl", "jq", "date") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"the README's walk-throughs need {', '.join(missing)} on PATH")
    blocks = walkthrough_blocks((REPO / "README.md").read_text())
    scripts = [text for language, text in blocks if language == "sh"]
    shown = "\n".join(text for language, text in blocks if language == "text")
    assert len(scripts) == 8, "the walk-throughs' sh blocks moved: update SECTIONS"

    with running_service(database_url, tmp_path) as (base, env):
        demo = run([*MILESTONES, "demo", "--url", base], env)
        exports = [line for line in demo.splitlines() if line.startswith("export ")]
        assert {line.split("=")[0] for line in exports} == {
            "export U",
            "export P",
            "export ALICE",
            "export BOB",
            "export CAROL",
            "export DAVE",
        }
        # The README's `M=.venv/bin/milestones` is this checkout's, on the test's database.
        script = "\n".join(["set -euo pipefail", *exports, *scripts])
        done = subprocess.run(
            ["bash", "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    printed = done.stdout
    assert done.returncode == 0, f"{printed}\n{done.stderr}"

    # What the README shows and every run prints alike (no ids, no instants).
    for line in (
        '{"name":"Draft report submitted","health":"achieved_on_time","achieved_by":"erin"}',
        '"actor":"alice","type":"DeliverableCancelled","summary":"alice cancelled '
        "'Legacy decommission plan': Superseded by the archive decision\"}",
        "bob approved 'UI prototype'",
        "frank approved 'Data dictionary' — signed by Frank Castle (frank) as review",
        '"ui":{"state":"draft","review_rounds":1}}',
        '"as_of":null,"ui":{"state":"approved","review_rounds":2}}',
        '{"milestones":8,"on_time":1,"late":1,"open":5,"cancelled":1,',
        '"reschedules":[{"by":"alice","reason":"Prototype rework after the first usability',
        "SUMMARY:✓ Design signed off (achieved)",
        "id: 75",
        '{"type":"PhaseAdded","actor":"erin","correlation_id":"add-build-',
        '{"rule":"R24","phase":"Analysis","gate":"missing"}',
        '{"gate":"conditional_open","independent":["frank"],"signer_name":"erin"}',
    ):
        assert line in shown, f"the README no longer shows {line!r}"
        assert line in printed, f"the README shows {line!r}; the run printed:\n{printed}"
