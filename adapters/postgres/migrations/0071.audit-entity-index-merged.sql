-- The audit trail's entity index without a pending list (issue 20, item 3; docs/performance.md,
-- "scale"). A GIN index with `fastupdate` (PostgreSQL's default) puts new rows in a pending list
-- merged only by vacuum or when it passes `gin_pending_list_limit` (4 MB), and every search
-- reads the whole list: at 1,000,000 events, after a rebuild, a filter by entity read ~380
-- pages, 9–27 ms, against 0.14 ms once merged. With it off each insert merges its own row.
-- The index matches the view's description (projections/audit/tables.py), as
-- tests/integration/test_view_schema.py checks; the ALTER leaves the rows already pending in
-- the list until the next vacuum, so the list is merged here too.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0070.project-list-pages

SET LOCAL ROLE milestones_app;

ALTER INDEX public.audit_trail_by_entity SET (fastupdate = off);
DO $$ BEGIN PERFORM gin_clean_pending_list('public.audit_trail_by_entity'::regclass); END $$;
