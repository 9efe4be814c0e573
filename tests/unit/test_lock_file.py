"""The lock files hold every dependency `pyproject.toml` names, at one exact version.

`make run` installs `requirements/run.txt` and `make test` adds `requirements/dev.txt` (both made by
`make lock`); a dependency added to pyproject.toml but not locked would be missing from a fresh
clone's `make run`, or installed there at whatever version the day offers.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line!r} is not pinned to one version"
            pins[canonical(name.split("[")[0])] = version.strip()
    return pins


def wanted(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        match = NAME.match(requirement)
        assert match is not None, requirement
        names.add(canonical(match.group(1)))
    return names


def test_every_dependency_is_locked_at_one_version() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    run = locked(REPO / "requirements" / "run.txt")
    dev = locked(REPO / "requirements" / "dev.txt")

    assert wanted(project["dependencies"]) <= set(run), "run `make lock`"
    assert wanted(project["optional-dependencies"]["dev"]) <= set(dev), "run `make lock`"
    # What running needs is locked alike in both, so `make test` tests what `make run` runs.
    assert {name: dev[name] for name in run} == run
