-- Run after every `milestones db upgrade`, whether or not a migration was pending, by
-- adapters/postgres/migrate.py: what a pg_dump does not carry (so a restored database gets it
-- back from its first upgrade), and yoyo's own tables kept out of the application role's reach.

-- A rebuild makes shadow schemas for the views it builds (projections/rebuild.py).
DO $$
BEGIN
    EXECUTE format('GRANT CREATE, CONNECT, TEMPORARY ON DATABASE %I TO milestones_app',
                   current_database());
END $$;

-- The migration history belongs to the record's owner, so any login that is a member of both
-- roles can upgrade later; the application role may neither read nor write it.
ALTER TABLE _yoyo_migration OWNER TO milestones_owner;
ALTER TABLE _yoyo_log OWNER TO milestones_owner;
ALTER TABLE _yoyo_version OWNER TO milestones_owner;
ALTER TABLE yoyo_lock OWNER TO milestones_owner;
REVOKE ALL ON _yoyo_migration, _yoyo_log, _yoyo_version, yoyo_lock
    FROM PUBLIC, milestones_app;
