-- The two roles of adapters/postgres/dbroles.py, and what they may do in the schema.
--
-- milestones_owner owns the record (events, snapshots, their same-transaction records,
-- checkpoints, principals, tokens) and its integrity functions; milestones_app is what every
-- session of the service acts as, and owns the views' tables. Neither may log in: logins are
-- granted them.
--
-- Roles are cluster-wide: an upgrade of another database on the same server may create them at
-- the same moment, so a role that appears meanwhile is not an error.

DO $$
DECLARE
    wanted text;
BEGIN
    FOREACH wanted IN ARRAY ARRAY['milestones_owner', 'milestones_app'] LOOP
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = wanted) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', wanted);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created by another database's upgrade since we looked
            END;
        END IF;
    END LOOP;
END $$;

-- The owner creates the record's tables here, the application role the views' (and a
-- rebuild's shadow schemas, for which post-apply.sql grants CREATE on the database).
GRANT USAGE, CREATE ON SCHEMA public TO milestones_owner;
GRANT USAGE, CREATE ON SCHEMA public TO milestones_app;
