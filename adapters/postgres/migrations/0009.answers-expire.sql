-- Answers kept under an Idempotency-Key move to their own table, `kept_answers`: a cache of
-- answers, not the record. It is not append-only and not in the hash chain; an answer expires
-- 24 hours after it was kept (application/results.py ANSWERS_KEPT_FOR) and the service prunes
-- it (api/pruning.py, hourly, where the views run). The application role may SELECT, INSERT and
-- DELETE its rows, never UPDATE them. A command that wrote events still keeps its answer in the
-- events' transaction (adapters/postgres/answers.py).
--
-- `ledger_events_idempotency` was append-only (0003), so nothing could ever remove a row and
-- every caller could grow it without bound (issue 13, finding 12): its rows are copied here
-- with the time they were kept (the expired ones go at the first pruning) and it is dropped.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0006.answers-hold-results

SET LOCAL ROLE milestones_owner;

CREATE TABLE IF NOT EXISTS public.kept_answers (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    -- An answer the API rendered (a refusal, a no-op): status, headers and body.
    status smallint,
    headers jsonb,
    body bytea,
    -- Or a command's plain result, written with its events.
    result jsonb,
    kept_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key),
    CONSTRAINT kept_answers_kept CHECK (
        result IS NOT NULL OR (status IS NOT NULL AND headers IS NOT NULL AND body IS NOT NULL))
);
-- Pruning finds the expired answers by age.
CREATE INDEX IF NOT EXISTS kept_answers_kept_at_idx ON public.kept_answers (kept_at);

DO $$
BEGIN
    IF to_regclass('public.ledger_events_idempotency') IS NOT NULL THEN
        INSERT INTO public.kept_answers
            (principal, key, request_hash, status, headers, body, result, kept_at)
        SELECT principal, key, request_hash, status, headers, body, result, created_at
        FROM public.ledger_events_idempotency
        ON CONFLICT (principal, key) DO NOTHING;
        -- DROP is not refused by the append-only triggers (they refuse UPDATE, DELETE and
        -- TRUNCATE of rows); it takes the triggers with the table.
        DROP TABLE public.ledger_events_idempotency;
    END IF;
END $$;

REVOKE ALL ON public.kept_answers FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT, DELETE ON public.kept_answers TO milestones_app;
