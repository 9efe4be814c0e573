-- Derived records proven against the events (issue 13, finding 4): the application role may
-- append to the snapshots and the as-of index, so neither is believed on its word.
-- depends: 0006.answers-hold-results
--
-- - A snapshot names the position and chain hash of the event it was taken at: the database
--   fills both in from that event as the row is written (a snapshot of a version that has no
--   event is refused), and the service signs the snapshot with them
--   (adapters/postgres/snapshots.py). A read uses a snapshot only if its signature holds and
--   the chain still has that hash at that position. Rows written before this migration have
--   no signature and are never used again.
-- - An as-of index row must name an event of its project and the time that event records:
--   the database checks it as the row is written (a row that names no event, or another time,
--   is refused) and marks it `confirmed`. Rows written before this migration are checked once
--   here; the ones that do not match stay unconfirmed, and reads never use them.
--
-- Every statement is idempotent.

SET LOCAL ROLE milestones_owner;

-- The time an event records (`timestamp` in its stored JSON), or NULL when its state cannot be
-- read that way: a forged event's bytes must not make a check fail with an error.
CREATE OR REPLACE FUNCTION public.ledger_events_recorded_at(state bytea)
RETURNS timestamptz LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF state IS NULL OR length(state) = 0 OR get_byte(state, 0) <> 123 THEN  -- not '{'
        RETURN NULL;
    END IF;
    RETURN (convert_from(state, 'UTF8')::jsonb #>> '{timestamp,_data_}')::timestamptz;
EXCEPTION WHEN others THEN
    RETURN NULL;
END $$;

-- --- snapshots -------------------------------------------------------------------------------

ALTER TABLE public.ledger_snapshots ADD COLUMN IF NOT EXISTS position bigint;
ALTER TABLE public.ledger_snapshots ADD COLUMN IF NOT EXISTS chain_hash bytea;
ALTER TABLE public.ledger_snapshots ADD COLUMN IF NOT EXISTS signature bytea;

CREATE OR REPLACE FUNCTION public.ledger_snapshots_bind()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    SELECT e.notification_id, e.chain_hash INTO NEW.position, NEW.chain_hash
        FROM public.ledger_events e
        WHERE e.originator_id = NEW.originator_id
          AND e.originator_version = NEW.originator_version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'a snapshot of % at version % is refused: no event has that version',
            NEW.originator_id, NEW.originator_version
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER ledger_snapshots_bind BEFORE INSERT ON public.ledger_snapshots
    FOR EACH ROW EXECUTE FUNCTION public.ledger_snapshots_bind();

-- --- the as-of index -------------------------------------------------------------------------

ALTER TABLE public.ledger_events_timeline
    ADD COLUMN IF NOT EXISTS confirmed boolean NOT NULL DEFAULT false;

-- The rows written before this migration: confirmed where their event bears them out. The
-- append-only trigger is set aside for this one UPDATE of a column nobody could set before.
DO $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM public.ledger_events_timeline t
        JOIN public.ledger_events e
            ON e.originator_id = t.project_id AND e.originator_version = t.version
        WHERE NOT t.confirmed AND public.ledger_events_recorded_at(e.state) = t.occurred_at
    ) THEN
        RETURN;
    END IF;
    ALTER TABLE public.ledger_events_timeline
        DISABLE TRIGGER ledger_events_timeline_append_only;
    UPDATE public.ledger_events_timeline t SET confirmed = true
        FROM public.ledger_events e
        WHERE e.originator_id = t.project_id AND e.originator_version = t.version
          AND NOT t.confirmed AND public.ledger_events_recorded_at(e.state) = t.occurred_at;
    ALTER TABLE public.ledger_events_timeline
        ENABLE TRIGGER ledger_events_timeline_append_only;
END $$;

CREATE OR REPLACE FUNCTION public.ledger_events_timeline_confirm()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stored bytea;
    recorded timestamptz;
BEGIN
    SELECT e.state INTO stored FROM public.ledger_events e
        WHERE e.originator_id = NEW.project_id AND e.originator_version = NEW.version;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'an as-of index row for % at version % is refused: no event has that '
            'version', NEW.project_id, NEW.version
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    recorded := public.ledger_events_recorded_at(stored);
    IF recorded IS DISTINCT FROM NEW.occurred_at AND recorded IS NOT NULL THEN
        RAISE EXCEPTION 'an as-of index row for % at version % is refused: that event was '
            'recorded at %, not at %', NEW.project_id, NEW.version, recorded, NEW.occurred_at
            USING ERRCODE = 'check_violation';
    END IF;
    -- Whatever the writer said: only the database confirms a row.
    NEW.confirmed := recorded IS NOT NULL;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER ledger_events_timeline_confirm BEFORE INSERT
    ON public.ledger_events_timeline FOR EACH ROW
    EXECUTE FUNCTION public.ledger_events_timeline_confirm();
