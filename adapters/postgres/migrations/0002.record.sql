-- The record, owned by milestones_owner: the event store's tables exactly as eventsourcing 9.5
-- creates them (events, snapshots, their composite type and insert function), the as-of index
-- and idempotency records the recorder writes in the events' transaction, checkpoints,
-- principals and tokens.
-- depends: 0001.roles
--
-- Every statement is idempotent: a database made before versioned migrations already holds
-- all of this and is adopted by applying this file on top.

-- A database made before the roles existed has these owned by its login: hand them to the
-- owner first (as the login; only an owner or a superuser may give an object away). A no-op
-- on anything the owner already holds.
ALTER TABLE IF EXISTS public.ledger_events OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.ledger_snapshots OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.ledger_events_timeline OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.ledger_events_idempotency OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.checkpoints OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.principals OWNER TO milestones_owner;
ALTER TABLE IF EXISTS public.tokens OWNER TO milestones_owner;
DO $$
BEGIN
    IF to_regtype('public.stored_event_uuid') IS NOT NULL THEN
        ALTER TYPE public.stored_event_uuid OWNER TO milestones_owner;
        IF to_regprocedure('public.es_insert_events_uuid(public.stored_event_uuid[])')
                IS NOT NULL THEN
            ALTER FUNCTION public.es_insert_events_uuid(public.stored_event_uuid[])
                OWNER TO milestones_owner;
        END IF;
    END IF;
END $$;

SET LOCAL ROLE milestones_owner;

-- eventsourcing.postgres.PostgresApplicationRecorder, events table "ledger_events".
CREATE TABLE IF NOT EXISTS public.ledger_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

CREATE UNIQUE INDEX IF NOT EXISTS ledger_events_notification_id_idx
    ON public.ledger_events (notification_id ASC);

-- The library inserts events as an array of this type (CREATE TYPE has no IF NOT EXISTS).
DO $$
BEGIN
    CREATE TYPE public.stored_event_uuid AS (
        originator_id uuid,
        originator_version bigint,
        topic text,
        state bytea
    );
EXCEPTION WHEN duplicate_object THEN
    NULL;
END $$;

-- Created by the library whether or not it is used (only with POSTGRES_ENABLE_DB_FUNCTIONS);
-- its body is the library's, byte for byte, with the default lock timeout (5 s).
CREATE OR REPLACE FUNCTION public.es_insert_events_uuid(events public.stored_event_uuid[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '5s';    NOTIFY "ledger_events";    RETURN QUERY    INSERT INTO "public"."ledger_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

-- eventsourcing.postgres.PostgresAggregateRecorder, snapshots table "ledger_snapshots".
CREATE TABLE IF NOT EXISTS public.ledger_snapshots (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

-- The as-of index (adapters/postgres/recorder.py): a project's version at an instant.
CREATE TABLE IF NOT EXISTS public.ledger_events_timeline (
    project_id uuid NOT NULL,
    version bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, version)
);
CREATE INDEX IF NOT EXISTS ledger_events_timeline_at_idx
    ON public.ledger_events_timeline (project_id, occurred_at);

-- Idempotent commands: the stored response of each (principal, Idempotency-Key).
CREATE TABLE IF NOT EXISTS public.ledger_events_idempotency (
    principal text NOT NULL,
    key text NOT NULL,
    request_hash bytea NOT NULL,
    status smallint NOT NULL,
    headers jsonb NOT NULL,
    body bytea NOT NULL,
    position bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, key)
);

-- Signed checkpoints of the hash chain's head (api/checkpoints.py).
CREATE TABLE IF NOT EXISTS public.checkpoints (
    position bigint PRIMARY KEY,
    head bytea NOT NULL CHECK (length(head) = 32),
    count bigint NOT NULL,
    signed_at timestamptz NOT NULL,
    public_key bytea NOT NULL,
    signature bytea NOT NULL
);

-- Principals and their bearer tokens (api/principals.py): access control, not history.
CREATE TABLE IF NOT EXISTS public.principals (
    name text PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 200),
    role text NOT NULL CHECK (role IN ('admin', 'auditor', 'member')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS public.tokens (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    principal text NOT NULL REFERENCES public.principals (name),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);
CREATE INDEX IF NOT EXISTS tokens_principal_idx ON public.tokens (principal);
