-- Approval quorums (issue 15, item 1; R21, R22): the schedule view shows each deliverable's
-- quorum (`required_approvals`) and who approved in its current round, or signed the approval
-- that stands (`approvals`, a JSON array of names in order: jsonb rather than text[], since
-- the view's set-based writes pass each column as an array to unnest). The view's handlers
-- keep both as the quorum and approval events arrive (projections/schedule/handlers.py); the
-- columns match the view's description (projections/schedule/tables.py), as
-- tests/integration/test_view_schema.py checks.
--
-- Backfill: every approval stored before quorums was a round's only one (quorum 1, its actor
-- the only signer, as the upcast of DeliverableApproved v3 → v4 reads it), so an approved row
-- gets the actor of its deliverable's latest approval in the record. The events' state is
-- plain JSON (no compressor, no cipher). A row the view has not yet moved to approved gets its
-- signers from the handlers when the view reaches that event.
-- Owned by milestones_app like every view table (0004), so a rebuild can swap a fresh one in.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0040.schedule-dependencies

SET LOCAL ROLE milestones_app;

ALTER TABLE public.schedule_deliverables
    ADD COLUMN IF NOT EXISTS required_approvals integer NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS approvals jsonb NOT NULL DEFAULT '[]'::jsonb;

UPDATE public.schedule_deliverables d
SET approvals = jsonb_build_array(latest.actor)
FROM (
    SELECT DISTINCT ON (e.originator_id, e.state_json->'deliverable_id'->>'_data_')
        e.originator_id AS project_id,
        (e.state_json->'deliverable_id'->>'_data_')::uuid AS deliverable_id,
        e.state_json->>'actor' AS actor
    FROM (
        SELECT originator_id, originator_version, convert_from(state, 'UTF8')::jsonb AS state_json
        FROM public.ledger_events
        WHERE topic = 'domain.events:DeliverableApproved'
    ) e
    ORDER BY e.originator_id, e.state_json->'deliverable_id'->>'_data_',
        e.originator_version DESC
) latest
WHERE d.state = 'approved' AND d.approvals = '[]'::jsonb
    AND d.project_id = latest.project_id AND d.deliverable_id = latest.deliverable_id;
