"""The timeline's phase gates (R24, R25): at the lower edge of each phase band whose phase has
an exit gate, a gate marker (two posts and a bar) with the decision written beside it, on the
day the standing decision was taken (in the project's time zone), or in the phase names'
column while there is no decision yet. The colour follows what the gate says; the words say it
too, so colour is never the only cue."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from zoneinfo import ZoneInfo

from api.schemas import PhasePublic, ProjectPublic
from api.timeline.layout import BAND_PAD, LEFT, ROW, TOP, Lane, Scale
from api.timeline.svg import line, sub

GATE_COLOURS = {
    "go": "#1a7f37",
    "conditional": "#1a7f37",
    "conditional_open": "#9a6700",
    "hold": "#9a6700",
    "no_go": "#cf222e",
    "missing": "#59636e",
}
GATE_WORDS = {
    "go": "go",
    "conditional": "conditional, all met",
    "conditional_open": "conditional, open conditions",
    "hold": "hold",
    "no_go": "no go",
    "missing": "no decision yet",
}


def draw_gates(svg: ET.Element, project: ProjectPublic, lanes: list[Lane], x: Scale) -> None:
    phases = {str(p.id): p for p in project.phases}
    zone = ZoneInfo(project.timezone)
    y = float(TOP)
    for (phase_id, _), rows in lanes:
        y += len(rows) * ROW + 2 * BAND_PAD
        phase = phases.get(phase_id)
        if phase is None or not phase.exit_gate:
            continue
        decision = phase.decision
        at = LEFT - 8 if decision is None else x(decision.decided_at.astimezone(zone).date())
        _marker(svg, phase, at, y)


def _marker(svg: ET.Element, phase: PhasePublic, at: float, y: float) -> None:
    state = phase.gate
    colour = GATE_COLOURS.get(state, "#59636e")
    group = sub(svg, "g", {"class": "gate", "data-phase-id": str(phase.id), "data-gate": state})
    decision = phase.decision
    said = f"Exit gate of {phase.name}: {GATE_WORDS.get(state, state)}"
    if decision is not None:
        said += (
            f", decided {decision.decided_at.date().isoformat()} by {decision.decided_by}"
            f" (signed {decision.signer_name}, {decision.meaning.value})"
        )
    sub(group, "title", {}, said)
    for post in (at - 6, at + 6):
        line(group, post, y - 9, post, y + 9, stroke=colour, width="2.5")
    line(group, at - 6, y - 4, at + 6, y - 4, stroke=colour, width="2")
    if state != "go" and state != "conditional":
        line(group, at - 6, y + 3, at + 6, y + 3, stroke=colour, width="2")  # closed: two bars
    sub(
        group,
        "text",
        {"x": f"{at + 10:.1f}", "y": f"{y + 4:.1f}", "fill": colour, "font-size": "11"},
        f"gate: {GATE_WORDS.get(state, state)}",
    )
