-- Derived notices (issue 16, item 2; R20): `MilestoneDueSoon` and `MilestoneOverdue`, raised
-- once per milestone, due date and kind. They are not events (R2: a milestone is achieved or
-- not, nothing in between is stored): this table only remembers which notices were raised, so
-- that each is raised once, and numbers them for the subscribers and streams that follow them.
-- Raisers serialise their inserts on a transaction advisory lock, so that ids commit in order
-- and a reader that resumes after the last id it saw never skips one.
-- depends: 0020.webhooks
--
-- Every statement is idempotent.

SET LOCAL ROLE milestones_owner;

CREATE TABLE IF NOT EXISTS public.milestone_notices (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('MilestoneDueSoon', 'MilestoneOverdue')),
    project_id uuid NOT NULL,
    milestone_id uuid NOT NULL,
    milestone_name text NOT NULL,
    due date NOT NULL,
    -- The project's calendar day on which the notice was found true.
    today date NOT NULL,
    risk_window_days integer NOT NULL,
    noticed_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (milestone_id, due, kind)
);

-- A subscription's place in the notices (the last id delivered or passed over).
ALTER TABLE public.webhooks ADD COLUMN IF NOT EXISTS notice_position bigint NOT NULL DEFAULT 0;
-- The notice an attempt carried (its `position` is then 0: a notice has no place in the log).
ALTER TABLE public.webhook_deliveries ADD COLUMN IF NOT EXISTS notice_id bigint;

REVOKE ALL ON public.milestone_notices FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT ON public.milestone_notices TO milestones_app;
