-- The project list is paged (issue 20, item 2; docs/decisions.md): a page is the next `limit`
-- projects after the last one's (name, project_id), so the list reads an index in that order
-- rather than sorting every project the caller may read. The index matches the view's
-- description (projections/projects/tables.py), as tests/integration/test_view_schema.py checks.
-- Owned by milestones_app like every view table (0004), so a rebuild can swap a fresh one in.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0061.signing-passwords

SET LOCAL ROLE milestones_app;

CREATE INDEX IF NOT EXISTS projects_by_name ON public.projects (name, project_id);
