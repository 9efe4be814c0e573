-- An answer kept under an Idempotency-Key holds the command's plain result (`result`: its ids,
-- version, position, what it created), written in the events' own transaction and rendered by
-- the API on every replay. Only answers the API rendered itself (a refusal, a no-op) keep the
-- rendered status, headers and body. Rows kept before this migration are rendered answers.
-- depends: 0005.grants

SET LOCAL ROLE milestones_owner;

ALTER TABLE public.ledger_events_idempotency ADD COLUMN IF NOT EXISTS result jsonb;
ALTER TABLE public.ledger_events_idempotency ALTER COLUMN status DROP NOT NULL;
ALTER TABLE public.ledger_events_idempotency ALTER COLUMN headers DROP NOT NULL;
ALTER TABLE public.ledger_events_idempotency ALTER COLUMN body DROP NOT NULL;

DO $$
BEGIN
    ALTER TABLE public.ledger_events_idempotency ADD CONSTRAINT ledger_events_idempotency_kept
        CHECK (result IS NOT NULL
               OR (status IS NOT NULL AND headers IS NOT NULL AND body IS NOT NULL));
EXCEPTION WHEN duplicate_object THEN
    NULL;  -- applied already
END $$;
