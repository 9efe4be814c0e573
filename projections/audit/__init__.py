"""The audit-trail view: one row per event (who did what to which entity, when), newest first.

Each row carries a one-line summary ("carol approved 'Analysis report draft'"), written when the
event is applied from a small table of the names every entity had at that moment, so a later
retitle does not rewrite what an earlier line said. `tables` describes its tables, `handlers`
writes a page of events into them with the English of `summaries`, `queries` answers from them.
"""

from projections.audit.handlers import AuditView
from projections.audit.queries import AuditFilter, audit_page, explain_audit, iter_audit

__all__ = ["AuditFilter", "AuditView", "audit_page", "explain_audit", "iter_audit"]
