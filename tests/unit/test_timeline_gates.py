"""The timeline draws a gate marker at the lower edge of each gated phase's band (R24), with
what the gate says in words and in its colour, on the day of the standing decision."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from api.presenters import project_public
from api.timeline import render_timeline
from domain.entities import GateDecisionKind

from .helpers import ALICE, CAROL, new_events, new_project, phase_id

NS = {"svg": "http://www.w3.org/2000/svg"}
NOW = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def _gates(svg: str) -> dict[str, tuple[str, str]]:
    """Per phase id: what the marker's data says and its title."""
    root = ET.fromstring(svg)
    found = {}
    for group in root.iterfind(".//svg:g[@class='gate']", NS):
        title = group.find("svg:title", NS)
        assert title is not None
        assert title.text is not None
        found[group.attrib["data-phase-id"]] = (group.attrib["data-gate"], title.text)
    return found


def test_each_gated_phase_has_a_marker_saying_its_decision() -> None:
    project = new_project()
    design = phase_id(project)
    build = project.add_phase("Build", actor=ALICE)
    project.add_phase("Test", actor=ALICE)
    project.set_exit_gate(design, True, actor=ALICE)
    project.set_exit_gate(build, True, actor=ALICE)
    project.decide_gate(
        design, GateDecisionKind.NO_GO, [CAROL], "not ready", signer_name="Al", actor=ALICE
    )
    new_events(project)

    svg = render_timeline(project_public(project, NOW), NOW.date())

    gates = _gates(svg)
    assert set(gates) == {str(design), str(build)}  # Test has no exit gate: no marker
    state, title = gates[str(design)]
    assert state == "no_go"
    assert title.startswith("Exit gate of Design: no go, decided ")
    assert "(signed Al, approval)" in title
    assert gates[str(build)] == ("missing", "Exit gate of Build: no decision yet")
    assert "gate: no go" in svg
