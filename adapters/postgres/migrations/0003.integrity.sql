-- The record's integrity inside PostgreSQL (adapters/postgres/integrity.py explains it):
-- the hash chain that seals each event in the transaction that writes it, the ordering lock
-- the application role takes through a SECURITY DEFINER function, and the triggers that
-- refuse UPDATE, DELETE and TRUNCATE on every append-only table, for every role.
-- depends: 0002.record
--
-- The functions' bodies are kept byte for byte as they were first installed: `ledger_events_link`
-- is domain/chain.py's definition, and a verification recomputes it in Python.

SET LOCAL ROLE milestones_owner;

ALTER TABLE public.ledger_events ADD COLUMN IF NOT EXISTS chain_hash bytea;

CREATE OR REPLACE FUNCTION public.ledger_events_link(
    prev bytea, pos bigint, stream uuid, ver bigint, topic text, state bytea
) RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = pg_catalog, pg_temp
AS $$ SELECT sha256(prev || int8send(pos) || uuid_send(stream) || int8send(ver) || CASE WHEN topic IS NULL THEN int4send(-1) ELSE int4send(length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') END || CASE WHEN state IS NULL THEN int4send(-1) ELSE int4send(length(state)) || state END) $$;

-- The events' EXCLUSIVE ordering lock: PostgreSQL lets only UPDATE, DELETE or TRUNCATE
-- privileges take that mode, which the application role must not have.
CREATE OR REPLACE FUNCTION public.ledger_events_lock()
RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$ BEGIN LOCK TABLE "public"."ledger_events" IN EXCLUSIVE MODE; END $$;

-- Taken by a statement trigger too, so even an INSERT that bypasses the event store is
-- serialized and chained in commit order.
CREATE OR REPLACE FUNCTION public.ledger_events_serialize()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN PERFORM "public"."ledger_events_lock"(); RETURN NULL; END $$;

-- A row-level BEFORE trigger sees the rows inserted earlier by the same statement, so a
-- multi-row INSERT chains each row onto the one before it.
CREATE OR REPLACE FUNCTION public.ledger_events_seal()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ DECLARE last_position bigint; last_hash bytea; BEGIN SELECT notification_id, chain_hash INTO last_position, last_hash FROM "public"."ledger_events" ORDER BY notification_id DESC LIMIT 1; IF last_position IS NOT NULL AND NEW.notification_id <= last_position THEN RAISE EXCEPTION 'events are appended in position order: % is not after %', NEW.notification_id, last_position; END IF; NEW.chain_hash := "public"."ledger_events_link"(coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea), NEW.notification_id, NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state); RETURN NEW; END $$;

-- The one-time back-fill: events stored before the chain existed are chained in position
-- order (the append-only trigger, if already there, is set aside for it). Does nothing once
-- every event has its hash.
DO $$
DECLARE
    r record;
    previous bytea := '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM public.ledger_events WHERE chain_hash IS NULL) THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.ledger_events'::regclass
               AND tgname = 'ledger_events_append_only') THEN
        ALTER TABLE public.ledger_events DISABLE TRIGGER ledger_events_append_only;
    END IF;
    FOR r IN SELECT * FROM public.ledger_events ORDER BY notification_id LOOP
        IF r.chain_hash IS NULL THEN
            previous := public.ledger_events_link(previous, r.notification_id, r.originator_id,
                                                  r.originator_version, r.topic, r.state);
            UPDATE public.ledger_events SET chain_hash = previous
                WHERE notification_id = r.notification_id;
        ELSE
            previous := r.chain_hash;
        END IF;
    END LOOP;
    IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = 'public.ledger_events'::regclass
               AND tgname = 'ledger_events_append_only') THEN
        ALTER TABLE public.ledger_events ENABLE TRIGGER ledger_events_append_only;
    END IF;
END $$;

ALTER TABLE public.ledger_events ALTER COLUMN chain_hash SET NOT NULL;

CREATE OR REPLACE TRIGGER ledger_events_serialize BEFORE INSERT ON public.ledger_events
    FOR EACH STATEMENT EXECUTE FUNCTION public.ledger_events_serialize();
CREATE OR REPLACE TRIGGER ledger_events_seal BEFORE INSERT ON public.ledger_events
    FOR EACH ROW EXECUTE FUNCTION public.ledger_events_seal();

-- Append-only: refused for every role, the owner and superusers included. Only disabling
-- the triggers (an owner or a superuser can) gets past them, and the chain shows it.
CREATE OR REPLACE FUNCTION public.milestones_refuse_change()
RETURNS trigger LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$ BEGIN RAISE EXCEPTION '% on %.% is refused: it is append-only (events are never updated or deleted)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$;

CREATE OR REPLACE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE
    ON public.ledger_events FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE
    ON public.ledger_events FOR EACH STATEMENT EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_timeline_append_only BEFORE UPDATE OR DELETE
    ON public.ledger_events_timeline FOR EACH ROW
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_timeline_no_truncate BEFORE TRUNCATE
    ON public.ledger_events_timeline FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_idempotency_append_only BEFORE UPDATE OR DELETE
    ON public.ledger_events_idempotency FOR EACH ROW
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_events_idempotency_no_truncate BEFORE TRUNCATE
    ON public.ledger_events_idempotency FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_snapshots_append_only BEFORE UPDATE OR DELETE
    ON public.ledger_snapshots FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER ledger_snapshots_no_truncate BEFORE TRUNCATE
    ON public.ledger_snapshots FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER checkpoints_append_only BEFORE UPDATE OR DELETE
    ON public.checkpoints FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE
    ON public.checkpoints FOR EACH STATEMENT EXECUTE FUNCTION public.milestones_refuse_change();
