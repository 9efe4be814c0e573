"""`milestones --help` describes every command and option (issue 19, item 4)."""

from __future__ import annotations

import argparse

import pytest

from cli.main import VIEW_NAMES, build_parser
from projections import all_views


def commands(parser: argparse.ArgumentParser, path: str = "") -> list[tuple[str, str | None]]:
    """(command path, its help) of every command and sub-command, depth first."""
    found: list[tuple[str, str | None]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, child in action.choices.items():
                found.append((f"{path} {name}".strip(), helps.get(name)))
                found += commands(child, f"{path} {name}")
    return found


def test_every_command_says_what_it_does() -> None:
    listed = commands(build_parser())
    assert {"principal", "token", "projections", "projections rebuild"} <= {p for p, _ in listed}
    assert [path for path, text in listed if not text] == []


def test_every_option_says_what_it_means() -> None:
    def options(parser: argparse.ArgumentParser, path: str) -> list[str]:
        missing = [
            f"{path} {'/'.join(a.option_strings) or a.dest}"
            for a in parser._actions
            if not isinstance(a, argparse._SubParsersAction | argparse._HelpAction) and not a.help
        ]
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    missing += options(child, f"{path} {name}")
        return missing

    assert options(build_parser(), "milestones") == []


def test_rebuild_lists_the_views_it_knows() -> None:
    assert tuple(view.name for view in all_views()) == VIEW_NAMES


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.startswith("milestones ")
