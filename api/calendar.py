"""A project's milestones as an iCalendar feed (`GET /v1/projects/{pid}/calendar.ics`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from icalendar import Calendar, Event

from domain.entities import MilestoneStatus
from domain.project import Project


def milestones_calendar(project: Project, now: datetime) -> bytes:
    """One all-day VEVENT per milestone; its UID is the milestone id, so a subscribed calendar
    moves the event when the milestone is rescheduled instead of adding another."""
    calendar = Calendar()
    calendar.add("prodid", "-//Milestone Ledger//milestones//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"{project.name}: milestones")
    phases = {str(p.id): p.name for p in project.phases.values()}
    for m in sorted(project.milestones.values(), key=lambda m: (m.due, m.name, str(m.id))):
        event = Event()
        event.add("uid", f"{m.id}@milestone-ledger")
        event.add("dtstamp", now)
        event.add("dtstart", m.due)
        event.add("dtend", m.due + timedelta(days=1))
        # The project version only grows, so calendars take every change as newer.
        event.add("sequence", project.version)
        event.add("categories", [phases.get(str(m.phase_id), "milestone")])
        event.add("transp", "TRANSPARENT")
        if m.status is MilestoneStatus.CANCELLED:
            event.add("status", "CANCELLED")
            event.add("summary", f"[cancelled] {m.name}")
            description = "Cancelled."
        elif m.achieved and m.achieved_at is not None:
            event.add("status", "CONFIRMED")
            event.add("summary", f"✓ {m.name} (achieved)")
            description = f"Achieved by {m.achieved_by} at {m.achieved_at.isoformat()}."
        else:
            event.add("status", "CONFIRMED")
            event.add("summary", m.name)
            description = "Not achieved yet."
        if m.slip_days:
            description += f" Baseline {m.baseline_due.isoformat()}, slip {m.slip_days} days."
        event.add("description", description)
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical
