-- A member's feed (issue 16, item 4): the events of the projects it reads, in position order,
-- after a position. Each of its projects is read by this index from the position on (at most a
-- page of rows each), then merged: the cost follows the member's projects and the page, never
-- the rest of the log. The primary key (originator_id, originator_version) cannot start at a
-- position.
--
-- Built once, holding writes off the events table while it builds (a SHARE lock: about a second
-- per million events measured on the bench box); run the upgrade in a quiet moment.
-- Idempotent.
-- depends: 0030.tokens-scoped

SET LOCAL ROLE milestones_owner;

CREATE INDEX IF NOT EXISTS ledger_events_originator_position_idx
    ON public.ledger_events (originator_id, notification_id);
