-- The views' tables, owned by milestones_app: a rebuild swaps freshly built tables in, which
-- only an owner may do. A frozen copy of the views' DDL as it stood when migrations began
-- (projections/*.py, commit 1bd38b6); a later change to a view is a later migration.
-- depends: 0003.integrity

-- A database made before the roles existed has these owned by its login (see 0002.record).
ALTER TABLE IF EXISTS public.projection_tracking OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_projects OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_phases OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_milestones OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_deliverables OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_criteria OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.schedule_links OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.projects OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.project_members OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.project_items OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.audit_trail OWNER TO milestones_app;
ALTER TABLE IF EXISTS public.audit_names OWNER TO milestones_app;

SET LOCAL ROLE milestones_app;

-- Where each view records the last event position it has applied (projections/tracking.py).
CREATE TABLE IF NOT EXISTS public.projection_tracking (
    name text PRIMARY KEY,
    position bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- The schedule (projections/schedule.py).
CREATE TABLE IF NOT EXISTS public.schedule_projects (
    project_id uuid PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL,
    risk_window_days integer NOT NULL,
    version integer NOT NULL,
    last_position bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS public.schedule_phases (
    project_id uuid NOT NULL,
    phase_id uuid NOT NULL,
    name text NOT NULL,
    ordinal integer NOT NULL,
    PRIMARY KEY (project_id, phase_id)
);
CREATE TABLE IF NOT EXISTS public.schedule_milestones (
    project_id uuid NOT NULL,
    milestone_id uuid NOT NULL,
    phase_id uuid NOT NULL,
    name text NOT NULL,
    due date NOT NULL,
    baseline_due date NOT NULL,
    original_baseline_due date NOT NULL,
    status text NOT NULL,
    achieved_at timestamptz,
    achieved_by text,
    defined_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, milestone_id)
);
-- The project list looks up each project's next open milestone.
CREATE INDEX IF NOT EXISTS schedule_milestones_open_by_due
    ON public.schedule_milestones (project_id, due, name) WHERE status = 'not_achieved';
CREATE TABLE IF NOT EXISTS public.schedule_deliverables (
    project_id uuid NOT NULL,
    deliverable_id uuid NOT NULL,
    phase_id uuid NOT NULL,
    title text NOT NULL,
    kind text NOT NULL,
    state text NOT NULL,
    owner text,
    criteria_total integer NOT NULL DEFAULT 0,
    criteria_met integer NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, deliverable_id)
);
CREATE TABLE IF NOT EXISTS public.schedule_criteria (
    project_id uuid NOT NULL,
    criterion_id uuid NOT NULL,
    deliverable_id uuid NOT NULL,
    met boolean NOT NULL DEFAULT false,
    PRIMARY KEY (project_id, criterion_id)
);
CREATE TABLE IF NOT EXISTS public.schedule_links (
    project_id uuid NOT NULL,
    milestone_id uuid NOT NULL,
    deliverable_id uuid NOT NULL,
    ordinal integer NOT NULL,
    PRIMARY KEY (project_id, milestone_id, deliverable_id)
);
CREATE INDEX IF NOT EXISTS schedule_links_by_deliverable
    ON public.schedule_links (project_id, deliverable_id);

-- The project list and who may read each project (projections/projects.py).
CREATE TABLE IF NOT EXISTS public.projects (
    project_id uuid PRIMARY KEY,
    name text NOT NULL,
    description text NOT NULL,
    timezone text NOT NULL,
    risk_window_days integer NOT NULL,
    version integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    last_position bigint NOT NULL,
    deliverable_counts jsonb NOT NULL,
    milestone_counts jsonb NOT NULL
);
CREATE TABLE IF NOT EXISTS public.project_members (
    project_id uuid NOT NULL,
    principal text NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (project_id, principal)
);
CREATE INDEX IF NOT EXISTS project_members_by_principal ON public.project_members (principal);
CREATE TABLE IF NOT EXISTS public.project_items (
    project_id uuid NOT NULL,
    item_id uuid NOT NULL,
    state text NOT NULL,
    PRIMARY KEY (project_id, item_id)
);

-- The audit trail (projections/audit.py).
CREATE TABLE IF NOT EXISTS public.audit_trail (
    position bigint PRIMARY KEY,
    project_id uuid NOT NULL,
    version integer NOT NULL,
    entity_kind text NOT NULL,
    entity_id text NOT NULL,
    entity_ids text[] NOT NULL,
    event_type text NOT NULL,
    actor text NOT NULL,
    occurred_at timestamptz NOT NULL,
    summary text NOT NULL,
    data jsonb NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_trail_by_project ON public.audit_trail (project_id, position);
CREATE INDEX IF NOT EXISTS audit_trail_by_project_type
    ON public.audit_trail (project_id, event_type, position);
CREATE INDEX IF NOT EXISTS audit_trail_by_actor ON public.audit_trail (actor, position);
CREATE INDEX IF NOT EXISTS audit_trail_by_type ON public.audit_trail (event_type, position);
CREATE INDEX IF NOT EXISTS audit_trail_by_time ON public.audit_trail (occurred_at, position);
CREATE INDEX IF NOT EXISTS audit_trail_by_entity ON public.audit_trail USING gin (entity_ids);
CREATE TABLE IF NOT EXISTS public.audit_names (
    project_id uuid NOT NULL,
    entity_id text NOT NULL,
    name text NOT NULL,
    PRIMARY KEY (project_id, entity_id)
);
