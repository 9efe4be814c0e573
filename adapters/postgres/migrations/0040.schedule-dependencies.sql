-- R16 (issue 17): the schedule view keeps each milestone's dependencies, so that it can show
-- the forecast (R18) without replaying events. One row per dependency of a milestone on a
-- predecessor, with its lag; the view's handlers insert, update and delete them as the
-- dependency events arrive (projections/schedule/handlers.py). Owned by milestones_app like
-- every view table (0004), so a rebuild can swap a fresh one in. No event before this
-- migration made a dependency, so the table starts empty and needs no rebuild.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0009.answers-expire

SET LOCAL ROLE milestones_app;

CREATE TABLE IF NOT EXISTS public.schedule_dependencies (
    project_id uuid NOT NULL,
    milestone_id uuid NOT NULL,
    predecessor_id uuid NOT NULL,
    lag_days integer NOT NULL,
    PRIMARY KEY (project_id, milestone_id, predecessor_id)
);
