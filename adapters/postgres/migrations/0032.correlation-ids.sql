-- Correlation ids (issue 16, item 5): which request caused each event. A command's save writes,
-- in the events' own transaction, one row per event naming the request's correlation id (its
-- Idempotency-Key when given, else its X-Request-ID, else an id the service made). A side table
-- rather than a field of every event: the events and their hash chain stay as they are (no new
-- class_version for every event class), and `GET /v1/events?correlation_id=` finds a request's
-- events by this table's own index.
--
-- Append-only, like the record: the service's role may only read and add rows, and a row must
-- name an event that exists (checked by a trigger as it is written; a foreign key would make
-- TRUNCATE of the events fail on the key before the events' own refusal, and tie restores to
-- the tables' order). Events saved before this migration, or outside a
-- request (the command line's demo), have no row.
-- Idempotent.
-- depends: 0031.feed-by-project

SET LOCAL ROLE milestones_owner;

CREATE TABLE IF NOT EXISTS public.ledger_events_correlation (
    project_id uuid NOT NULL,
    version bigint NOT NULL,
    correlation_id text NOT NULL CHECK (char_length(correlation_id) BETWEEN 1 AND 255),
    PRIMARY KEY (project_id, version)
);
CREATE INDEX IF NOT EXISTS ledger_events_correlation_id_idx
    ON public.ledger_events_correlation (correlation_id);

CREATE OR REPLACE FUNCTION public.ledger_events_correlation_names_an_event()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM public.ledger_events e WHERE e.originator_id = NEW.project_id
                   AND e.originator_version = NEW.version) THEN
        RAISE EXCEPTION 'a correlation id must name a stored event; % version % is none',
            NEW.project_id, NEW.version USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE TRIGGER ledger_events_correlation_names_an_event BEFORE INSERT
    ON public.ledger_events_correlation FOR EACH ROW
    EXECUTE FUNCTION public.ledger_events_correlation_names_an_event();
CREATE OR REPLACE TRIGGER ledger_events_correlation_append_only BEFORE UPDATE OR DELETE
    ON public.ledger_events_correlation FOR EACH ROW
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_correlation_no_truncate BEFORE TRUNCATE
    ON public.ledger_events_correlation FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();

REVOKE ALL ON public.ledger_events_correlation FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT ON public.ledger_events_correlation TO milestones_app;
