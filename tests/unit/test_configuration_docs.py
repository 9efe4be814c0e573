"""Every environment variable the service reads is documented, in the README and in settings."""

from __future__ import annotations

import re
from pathlib import Path

import api.settings

REPO = Path(__file__).resolve().parents[2]
VARIABLE = re.compile(r"^\| `([A-Z_]+)` \|", re.MULTILINE)


def _read_by_settings() -> set[str]:
    source = Path(api.settings.__file__).read_text()
    body = source.split('"""', 2)[2]  # after the module docstring
    return set(re.findall(r'"((?:DATABASE_URL|MILESTONES_[A-Z_]+))"', body))


def _readme_table() -> set[str]:
    readme = (REPO / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(VARIABLE.findall(section))


def test_the_readme_and_the_settings_docstring_list_every_variable_the_settings_read() -> None:
    read = _read_by_settings()
    assert read == _readme_table()
    assert read == set(VARIABLE.findall(api.settings.__doc__ or ""))
