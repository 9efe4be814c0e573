"""A project's milestones as an iCalendar feed (`GET /v1/projects/{pid}/calendar.ics`).

Every text property is written as the `icalendar` library's TEXT (`vText`, `vCategory`), which
escapes `\\`, `;`, `,` and line breaks; what TEXT cannot hold at all (a control in a name stored
before R15, a bare CR) is made fit first (`api.printable.ical_text`).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from icalendar import Calendar, Event, vCategory, vText

from api.printable import ical_text
from domain.entities import Milestone, MilestoneStatus, Phase
from domain.gates import gate_state
from domain.project import Project
from domain.rules import today_in


def _text(value: str) -> vText:
    return vText(ical_text(value))


def _achieved(m: Milestone) -> str:
    """R27: "Signed by <printed name> (<principal>) — <meaning> — <time>." for the achievement
    that stands; what its event did not record is said to be so."""
    at = (m.achieved_at or datetime.min).isoformat()
    printed = m.achieved_signer_name
    who = (
        f"{m.achieved_by} (printed name not recorded)"
        if printed is None
        else f"{printed} ({m.achieved_by})"
    )
    meaning = m.achieved_meaning or "meaning not recorded"
    return f"Achieved. Signed by {who} — {meaning} — {at}."


def milestones_calendar(project: Project, now: datetime) -> bytes:
    """One all-day VEVENT per milestone; its UID is the milestone id, so a subscribed calendar
    moves the event when the milestone is rescheduled instead of adding another."""
    calendar = Calendar()
    calendar.add("prodid", "-//Milestone Ledger//milestones//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    # An X- property is not TEXT to the library unless it is given as one: unescaped, a `;`
    # cut the name short for some readers and a line break failed the whole feed (500).
    calendar.add("x-wr-calname", _text(f"{project.name}: milestones"))
    phases = {str(p.id): p.name for p in project.phases.values()}
    for m in sorted(project.milestones.values(), key=lambda m: (m.due, m.name, str(m.id))):
        event = Event()
        event.add("uid", f"{m.id}@milestone-ledger")
        event.add("dtstamp", now)
        event.add("dtstart", m.due)
        if m.due < date.max:
            event.add("dtend", m.due + timedelta(days=1))
        # else: no DTEND, since the day after 9999-12-31 has no date; an all-day event without
        # DTEND or DURATION lasts that one day (RFC 5545 §3.6.1), which is what DTEND says.
        # The project version only grows, so calendars take every change as newer.
        event.add("sequence", project.version)
        phase = phases.get(str(m.phase_id), "milestone")
        event.add("categories", vCategory([ical_text(phase)]))
        event.add("transp", "TRANSPARENT")
        if m.status is MilestoneStatus.CANCELLED:
            event.add("status", "CANCELLED")
            event.add("summary", _text(f"[cancelled] {m.name}"))
            description = "Cancelled."
        elif m.achieved and m.achieved_at is not None:
            event.add("status", "CONFIRMED")
            event.add("summary", _text(f"✓ {m.name} (achieved)"))
            description = _achieved(m)
        else:
            event.add("status", "CONFIRMED")
            event.add("summary", _text(m.name))
            description = "Not achieved yet."
        if m.slip_days:
            description += f" Baseline {m.baseline_due.isoformat()}, slip {m.slip_days} days."
        event.add("description", _text(description))
        calendar.add_component(event)
    for gated in project.phases_in_order():
        if gated.decision is not None:
            calendar.add_component(_gate_event(project, gated, now))
    ical: bytes = calendar.to_ical()
    return ical


def _gate_event(project: Project, phase: Phase, now: datetime) -> Event:
    """R24, R25: the decision that stands at a phase's exit gate, an all-day event on the day
    (in the project's time zone) it was taken. Its UID is the phase's gate, so a later decision
    moves the event instead of adding another."""
    decision = phase.decision
    assert decision is not None
    day = today_in(project.timezone, decision.decided_at)
    event = Event()
    event.add("uid", f"gate-{phase.id}@milestone-ledger")
    event.add("dtstamp", now)
    event.add("dtstart", day)
    if day < date.max:
        event.add("dtend", day + timedelta(days=1))
    event.add("sequence", project.version)
    event.add("categories", vCategory([ical_text(phase.name), "gate"]))
    event.add("transp", "TRANSPARENT")
    event.add("status", "CONFIRMED")
    state = gate_state(phase)
    event.add("summary", _text(f"Gate {phase.name}: {state}"))
    open_count = len(decision.open_conditions)
    description = (
        f"Decided {decision.decision.value} by {decision.decided_by}, signed by "
        f"{decision.signer_name} ({decision.meaning}) at {decision.decided_at.isoformat()}. "
        f"Participants: {', '.join(decision.participants)}; independent: "
        f"{', '.join(decision.independent)}. Reason: {decision.reason}"
        + (f" Open conditions: {open_count}." if open_count else "")
        + f" Digest {decision.signed_digest}."
    )
    event.add("description", _text(description))
    return event
