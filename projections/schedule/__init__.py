"""The schedule view: phases, milestones, deliverables and their links, with health read live;
R11's alignment reads its tables too.

`tables` describes its tables, `page` and `handlers` fold a page of events into them, `queries`
and `alignment` answer from them.
"""

from projections.schedule.alignment import get_alignment
from projections.schedule.handlers import ScheduleView
from projections.schedule.queries import get_schedule

__all__ = ["ScheduleView", "get_alignment", "get_schedule"]
