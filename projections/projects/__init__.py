"""The projects view: the project list with its members, counts by state and next due milestone.

`tables` describes its tables, `handlers` folds a page of events into them, `queries` answers
from them.
"""

from projections.projects.handlers import ProjectsView
from projections.projects.queries import list_projects

__all__ = ["ProjectsView", "list_projects"]
