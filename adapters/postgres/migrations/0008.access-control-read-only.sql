-- Access control the application role cannot rewrite (issue 13, finding 6): it could UPDATE a
-- principal's role to admin, clear a token's revocation, INSERT a token for any principal (an
-- admin's, say), and shadow the tables by a schema of its own name. Now it may only read
-- principals and tokens, and revoke a token by appending to `token_revocations`, which nobody
-- may change or empty. Principals and tokens are
-- created as the owner (`milestones principal add` and `token create` take on that role:
-- adapters/postgres/principals.py).
-- depends: 0007.derived-records-proven
--
-- Every statement is idempotent.

-- The application role may create schemas (for a rebuild's shadow tables). One named after it
-- would come first in each of its sessions' search_path ("$user", public) and shadow the
-- record's tables for every unqualified query: a `milestones_app.tokens` would let anyone in as
-- anyone. The owner holds both roles' names, as empty schemas nobody else may use (a schema in
-- "$user" that the role may not use is skipped). Made as the login, which may create schemas.
DO $$
DECLARE
    reserved text;
    holder text;
BEGIN
    FOREACH reserved IN ARRAY ARRAY['milestones_app', 'milestones_owner'] LOOP
        SELECT pg_get_userbyid(nspowner) INTO holder FROM pg_namespace WHERE nspname = reserved;
        IF holder IS NULL THEN
            EXECUTE format('CREATE SCHEMA %I AUTHORIZATION milestones_owner', reserved);
        ELSIF holder <> 'milestones_owner' THEN
            RAISE EXCEPTION 'schema % exists and belongs to %, not milestones_owner: it shadows the '
                'record''s tables for that role; inspect it and drop it, then upgrade again',
                reserved, holder;
        END IF;
        EXECUTE format('REVOKE ALL ON SCHEMA %I FROM PUBLIC', reserved);
    END LOOP;
END $$;

SET LOCAL ROLE milestones_owner;

-- The application role may create tables in the schema (for the views): a table of this name
-- that the owner did not make is not adopted as the record.
DO $$
DECLARE
    holder text;
BEGIN
    SELECT pg_get_userbyid(relowner) INTO holder FROM pg_class
        WHERE oid = to_regclass('public.token_revocations');
    IF holder IS NOT NULL AND holder <> 'milestones_owner' THEN
        RAISE EXCEPTION 'public.token_revocations exists and belongs to %, not milestones_owner: '
            'it was not made by an upgrade; inspect it and drop it, then upgrade again', holder;
    END IF;
END $$;

-- A token is revoked once it has a row here (or, before this migration, `revoked_at`). No
-- foreign key: revoking is done by the store, which revokes only tokens it issued, and a row
-- for a hash nobody holds revokes nothing.
CREATE TABLE IF NOT EXISTS public.token_revocations (
    token_hash text PRIMARY KEY CHECK (token_hash ~ '^[0-9a-f]{64}$'),
    revoked_at timestamptz NOT NULL DEFAULT now()
);

CREATE OR REPLACE TRIGGER token_revocations_append_only BEFORE UPDATE OR DELETE
    ON public.token_revocations FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER token_revocations_no_truncate BEFORE TRUNCATE
    ON public.token_revocations FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();

REVOKE ALL ON public.token_revocations FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT ON public.token_revocations TO milestones_app;

-- Read only, for authentication; written by the owner.
REVOKE ALL ON public.principals, public.tokens FROM PUBLIC, milestones_app;
GRANT SELECT ON public.principals, public.tokens TO milestones_app;
