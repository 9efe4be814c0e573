"""R14 bounds (names 1–200 characters, texts ≤ 10,000, evidence ≤ 2,000, well-formed values)
and R15 characters (names one printable line, texts printable but for tab and line breaks)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from functools import partial

import pytest

from domain.errors import InvalidValueError
from domain.project import Project
from domain.roles import ProjectRole

from .helpers import ALICE, BOB, draft, milestone, new_events, new_project, phase_id

NAME_OK = "n" * 200
NAME_TOO_LONG = "n" * 201
BLANK = ["", " ", "\t\n"]


@pytest.mark.parametrize("name", [*BLANK, NAME_TOO_LONG])
def test_a_project_name_must_be_1_to_200_characters_and_not_blank(name: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name=name, actor=ALICE)

    assert excinfo.value.field_name == "name"


def test_a_name_of_exactly_200_characters_is_accepted() -> None:
    project = Project.create(name=NAME_OK, actor=ALICE)

    assert project.name == NAME_OK


def test_a_project_description_may_be_10000_characters_but_not_more() -> None:
    Project.create(name="P", description="d" * 10_000, actor=ALICE)

    with pytest.raises(InvalidValueError):
        Project.create(name="P", description="d" * 10_001, actor=ALICE)


def test_a_project_needs_a_known_time_zone() -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name="P", timezone="Mars/Olympus", actor=ALICE)

    assert excinfo.value.field_name == "timezone"


@pytest.mark.parametrize("days", [-1, 366])
def test_the_risk_window_is_bounded(days: int) -> None:
    with pytest.raises(InvalidValueError):
        Project.create(name="P", risk_window_days=days, actor=ALICE)


@pytest.mark.parametrize("name", [*BLANK, NAME_TOO_LONG])
def test_a_phase_name_must_be_1_to_200_characters_and_not_blank(name: str) -> None:
    project = new_project()

    with pytest.raises(InvalidValueError):
        project.add_phase(name, actor=ALICE)

    assert new_events(project) == []


@pytest.mark.parametrize("title", [*BLANK, NAME_TOO_LONG])
def test_a_deliverable_title_must_be_1_to_200_characters_and_not_blank(title: str) -> None:
    project = new_project()

    with pytest.raises(InvalidValueError):
        project.define_deliverable(title=title, phase_id=phase_id(project), actor=BOB)

    assert new_events(project) == []


@pytest.mark.parametrize("title", [*BLANK, NAME_TOO_LONG])
def test_a_deliverable_cannot_be_retitled_to_a_blank_or_long_title(title: str) -> None:
    project = new_project()
    did = draft(project)

    with pytest.raises(InvalidValueError):
        project.update_deliverable(did, title=title, actor=BOB)


def test_a_deliverable_description_is_at_most_10000_characters() -> None:
    project = new_project()

    with pytest.raises(InvalidValueError) as excinfo:
        project.define_deliverable(
            title="T", description="d" * 10_001, phase_id=phase_id(project), actor=BOB
        )

    assert excinfo.value.field_name == "description"


@pytest.mark.parametrize("text", [*BLANK, NAME_TOO_LONG])
def test_a_criterion_text_must_be_1_to_200_characters_and_not_blank(text: str) -> None:
    project = new_project()
    did = draft(project, criteria=0)

    with pytest.raises(InvalidValueError):
        project.add_criterion(did, text, actor=BOB)


@pytest.mark.parametrize("evidence", [*BLANK, "e" * 2_001])
def test_evidence_must_be_1_to_2000_characters_and_not_blank(evidence: str) -> None:
    project = new_project()
    did = draft(project, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    with pytest.raises(InvalidValueError) as excinfo:
        project.record_evidence(did, cid, evidence, actor=BOB)

    assert excinfo.value.field_name == "evidence"


def test_evidence_of_exactly_2000_characters_is_accepted() -> None:
    project = new_project()
    did = draft(project, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    project.record_evidence(did, cid, "e" * 2_000, actor=BOB)

    assert project.criterion(did, cid).met


@pytest.mark.parametrize("sha", ["abc", "A" * 64, "g" * 64])
def test_a_sha256_must_be_64_lowercase_hex_characters(sha: str) -> None:
    project = new_project()
    did = draft(project, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    with pytest.raises(InvalidValueError) as excinfo:
        project.record_evidence(did, cid, "https://example.org", sha, actor=BOB)

    assert excinfo.value.field_name == "sha256"


@pytest.mark.parametrize("name", [*BLANK, NAME_TOO_LONG])
def test_a_milestone_name_must_be_1_to_200_characters_and_not_blank(name: str) -> None:
    project = new_project()

    with pytest.raises(InvalidValueError):
        milestone(project, name=name)


def test_a_reason_is_at_most_10000_characters() -> None:
    project = new_project()
    mid = milestone(project)

    with pytest.raises(InvalidValueError):
        project.reschedule(mid, date(2027, 1, 1), "r" * 10_001, actor=ALICE)


def test_a_submission_note_is_at_most_10000_characters() -> None:
    project = new_project()
    did = draft(project)

    with pytest.raises(InvalidValueError):
        project.submit(did, note="n" * 10_001, actor=BOB)


# PostgreSQL text cannot hold U+0000: such an event would be stored but block every view.
NUL = "Design\x00review"


def test_a_name_with_a_nul_character_is_refused() -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name=NUL, actor=ALICE)

    assert excinfo.value.field_name == "name"


def test_a_text_with_a_nul_character_is_refused() -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name="P", description=NUL, actor=ALICE)

    assert excinfo.value.field_name == "description"


def test_evidence_with_a_nul_character_is_refused() -> None:
    project = new_project()
    did = draft(project, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id

    with pytest.raises(InvalidValueError) as excinfo:
        project.record_evidence(did, cid, NUL, actor=BOB)

    assert excinfo.value.field_name == "evidence"


# --- R15: names are one printable line, texts printable but for tab and line breaks ----------

C0 = [chr(c) for c in range(0x20)]
C1 = [chr(c) for c in range(0x7F, 0xA0)]  # DEL and the C1 controls (NEL is U+0085)
NOT_IN_NAMES_ONLY = ["\u2028", "\u2029", "\u202e", "\u2066"]
NEVER = [c for c in C0 + C1 if c not in "\t\n\r"] + ["\ud800", "\udfff", "\ufffe", "\uffff"]


@pytest.mark.parametrize("char", C0 + C1 + NOT_IN_NAMES_ONLY, ids=lambda c: f"U+{ord(c):04X}")
def test_a_name_refuses_every_control_character_and_line_break(char: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name=f"Apollo{char}2", actor=ALICE)

    assert excinfo.value.field_name == "name"
    assert "R15" in excinfo.value.message
    assert f"U+{ord(char):04X}" in excinfo.value.message


@pytest.mark.parametrize("char", NEVER, ids=lambda c: f"U+{ord(c):04X}")
def test_a_text_refuses_controls_surrogates_and_noncharacters(char: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name="P", description=f"line{char}", actor=ALICE)

    assert excinfo.value.field_name == "description"


def test_a_text_keeps_its_tabs_and_line_breaks() -> None:
    text = "first line\r\nsecond\tcolumn\nthird\u2028fourth"

    project = Project.create(name="P", description=text, actor=ALICE)

    assert project.description == text


@pytest.mark.parametrize("name", ["=1+2", "@SUM(A1)", "-2", "a;b,c\\d", "Zoë ✓ 漢字 🚀", "x" * 200])
def test_a_name_may_hold_any_printable_character(name: str) -> None:
    assert Project.create(name=name, actor=ALICE).name == name


def _refused_commands(project: Project) -> dict[str, Callable[[], object]]:
    did = draft(project, met=False)
    cid = next(iter(project.deliverable(did).criteria.values())).id
    phase = phase_id(project)
    return {
        "phase": partial(project.add_phase, "Build\n", actor=ALICE),
        "member": partial(project.set_member, "eve\r", ProjectRole.VIEWER, actor=ALICE),
        "deliverable": partial(
            project.define_deliverable, title="T\x1b[31m", phase_id=phase, actor=BOB
        ),
        "criterion": partial(project.add_criterion, did, "criterion\x85", actor=BOB),
        "evidence": partial(project.record_evidence, did, cid, "https://x.org/\x0b", actor=BOB),
        "milestone": partial(
            project.define_milestone,
            name="M\t",
            phase_id=phase,
            due=date(2026, 12, 1),
            deliverable_ids=[],
            actor=ALICE,
        ),
    }


@pytest.mark.parametrize(
    "command", ["phase", "member", "deliverable", "criterion", "evidence", "milestone"]
)
def test_every_command_applies_r15_to_its_names_and_texts(command: str) -> None:
    project = new_project()
    refused = _refused_commands(project)[command]
    new_events(project)

    with pytest.raises(InvalidValueError, match="R15"):
        refused()

    assert new_events(project) == []


@pytest.mark.parametrize(
    "zone", ["z" * 5000, "__pycache__", "localtime", "../../etc/passwd", "", "utc", "Europe/"]
)
def test_a_time_zone_must_be_an_iana_name(zone: str) -> None:
    with pytest.raises(InvalidValueError) as excinfo:
        Project.create(name="P", timezone=zone, actor=ALICE)

    assert excinfo.value.field_name == "timezone"
    assert len(excinfo.value.message) < 200  # a 5,000-character name is not echoed whole


@pytest.mark.parametrize("zone", ["UTC", "Europe/Paris", "America/Argentina/ComodRivadavia"])
def test_an_iana_time_zone_is_accepted(zone: str) -> None:
    assert Project.create(name="P", timezone=zone, actor=ALICE).timezone == zone
