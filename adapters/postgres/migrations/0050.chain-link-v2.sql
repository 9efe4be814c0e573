-- The next chain link (issue 14, item 3; docs/trust.md §3): version 2 chains each row's digest.
--
--   row_digest(e) = sha256(int8(pos) || uuid(stream) || int8(ver) || int4(len T) || T
--                          || int4(len S) || S)           -- version 1's fields and encodings
--   chain_hash(e) = sha256(prev || row_digest(e))         -- version 2
--
-- so a segment of the chain can be proven with other projects' rows given only as
-- (position, row_digest): an evidence pack carries no other project's contents. Version 1
-- (`ledger_events_link`, 0003) hashed the row's own bytes straight into the link, so no row
-- could be stepped over without its contents.
--
-- Which link a row is sealed with is recorded, append-only, in `chain_versions`: a version
-- holds from its `from_position` up to the next row's. This migration records version 1 from
-- position 1 and version 2 from the first position after every event stored so far (the
-- events' ordering lock is held, so no event is sealed meanwhile): old rows keep their hashes
-- and keep verifying under version 1; a fresh database is version 2 throughout. The seal
-- trigger and both verifiers (domain/chain.py, auditor/verify_pack.py) read the table.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0010.checkpoint-key-ids

SET LOCAL ROLE milestones_owner;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('public.chain_versions')
               AND relowner <> 'milestones_owner'::regrole) THEN
        RAISE EXCEPTION 'public.chain_versions exists and is not the owner''s: refusing to adopt it';
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS public.chain_versions (
    from_position bigint PRIMARY KEY CHECK (from_position >= 1),
    version smallint NOT NULL CHECK (version IN (1, 2)),
    recorded_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER chain_versions_append_only BEFORE UPDATE OR DELETE
    ON public.chain_versions FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER chain_versions_no_truncate BEFORE TRUNCATE
    ON public.chain_versions FOR EACH STATEMENT EXECUTE FUNCTION public.milestones_refuse_change();

-- The application role reads it (its inserts run the seal trigger, which reads it); only the
-- owner records a switch.
REVOKE ALL ON public.chain_versions FROM PUBLIC;
GRANT SELECT ON public.chain_versions TO milestones_app;

CREATE OR REPLACE FUNCTION public.ledger_events_row_digest(
    pos bigint, stream uuid, ver bigint, topic text, state bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT sha256(int8send(pos) || uuid_send(stream) || int8send(ver) || CASE WHEN topic IS NULL THEN int4send(-1) ELSE int4send(length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') END || CASE WHEN state IS NULL THEN int4send(-1) ELSE int4send(length(state)) || state END) $$;

GRANT EXECUTE ON FUNCTION public.ledger_events_row_digest(bigint, uuid, bigint, text, bytea)
    TO milestones_app;

-- Record the switch once, under the events' ordering lock.
LOCK TABLE public.ledger_events IN EXCLUSIVE MODE;
DO $$
DECLARE
    switch bigint;
BEGIN
    IF EXISTS (SELECT 1 FROM public.chain_versions) THEN
        RETURN;
    END IF;
    SELECT coalesce(max(notification_id), 0) + 1 INTO switch FROM public.ledger_events;
    IF switch > 1 THEN
        INSERT INTO public.chain_versions (from_position, version) VALUES (1, 1);
    END IF;
    INSERT INTO public.chain_versions (from_position, version) VALUES (switch, 2);
END $$;

-- The seal: as 0003's, with the link chosen by the version recorded for the row's position.
CREATE OR REPLACE FUNCTION public.ledger_events_seal()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ DECLARE last_position bigint; last_hash bytea; link_version smallint; BEGIN SELECT notification_id, chain_hash INTO last_position, last_hash FROM "public"."ledger_events" ORDER BY notification_id DESC LIMIT 1; IF last_position IS NOT NULL AND NEW.notification_id <= last_position THEN RAISE EXCEPTION 'events are appended in position order: % is not after %', NEW.notification_id, last_position; END IF; SELECT version INTO link_version FROM "public"."chain_versions" WHERE from_position <= NEW.notification_id ORDER BY from_position DESC LIMIT 1; last_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea); IF link_version = 2 THEN NEW.chain_hash := sha256(last_hash || "public"."ledger_events_row_digest"(NEW.notification_id, NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state)); ELSE NEW.chain_hash := "public"."ledger_events_link"(last_hash, NEW.notification_id, NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state); END IF; RETURN NEW; END $$;
