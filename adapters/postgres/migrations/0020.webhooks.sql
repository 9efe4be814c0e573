-- Webhook subscriptions and their delivery log (issue 16, item 1): configuration and a log of
-- attempts, not the record. Neither is append-only nor in the hash chain; the events a delivery
-- carries are. The application role manages subscriptions (create, change, delete, move a
-- subscription's position as deliveries succeed) and appends to and prunes the delivery log.
--
-- A subscription's secret is kept as is: the deliverer needs it to sign every delivery (an
-- HMAC key cannot be hashed like a token). It is shown once, when the subscription is made.
-- depends: 0009.answers-expire
--
-- Every statement is idempotent.

SET LOCAL ROLE milestones_owner;

CREATE TABLE IF NOT EXISTS public.webhooks (
    id uuid PRIMARY KEY,
    -- NULL: every project (an admin's subscription); else one project's events.
    project_id uuid,
    url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2000),
    -- Empty: every event type.
    event_types text[] NOT NULL DEFAULT '{}',
    active boolean NOT NULL DEFAULT true,
    secret text NOT NULL CHECK (secret ~ '^whsec_[A-Za-z0-9+/=]+$'),
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The last position delivered (or skipped as not wanted): deliveries resume after it.
    position bigint NOT NULL DEFAULT 0 CHECK (position >= 0),
    -- Failures in a row of the delivery at position's next event; the time of the next try.
    failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    -- Set when the deliverer paused the subscription after too many failures in a row.
    paused_reason text,
    paused_at timestamptz,
    -- Bumped by a replay or a resume, so a deliverer's write for the old position is refused.
    generation integer NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS webhooks_project_idx ON public.webhooks (project_id);

CREATE TABLE IF NOT EXISTS public.webhook_deliveries (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id uuid NOT NULL REFERENCES public.webhooks (id) ON DELETE CASCADE,
    -- The delivery's id (the `webhook-id` header): the same for every attempt of one event.
    message_id text NOT NULL,
    position bigint NOT NULL,
    event_type text NOT NULL,
    attempt integer NOT NULL CHECK (attempt >= 1),
    attempted_at timestamptz NOT NULL DEFAULT now(),
    -- `delivered` (a 2xx), `failed` (anything else).
    status text NOT NULL CHECK (status IN ('delivered', 'failed')),
    response_code smallint,
    latency_ms integer NOT NULL CHECK (latency_ms >= 0),
    error text
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_log_idx
    ON public.webhook_deliveries (webhook_id, id DESC);
CREATE INDEX IF NOT EXISTS webhook_deliveries_age_idx ON public.webhook_deliveries (attempted_at);

REVOKE ALL ON public.webhooks, public.webhook_deliveries FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON public.webhooks TO milestones_app;
GRANT SELECT, INSERT, DELETE ON public.webhook_deliveries TO milestones_app;
