-- Evidence pinned by content (issue 14, item 2): the files a criterion's evidence may name.
--
-- One row per project and SHA-256 digest, holding the bytes themselves (`bytea`, stored
-- EXTERNAL: uncompressed out of line, so a Range read fetches only the TOAST chunks it needs).
-- The database checks that the digest and size are the content's own (a CHECK over the whole
-- value), so no row can name bytes it does not hold. Written by one COPY in one short
-- transaction (adapters/postgres/artifacts.py): a killed upload leaves nothing. Append-only like
-- the events: UPDATE, DELETE and TRUNCATE are refused for everyone (0003's function); the
-- application role may SELECT and INSERT only. Large objects were measured and not chosen
-- (docs/trust.md §9): their owner may rewrite or unlink them, and no trigger can stop it.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0010.checkpoint-key-ids

SET LOCAL ROLE milestones_owner;

-- A table of that name made by someone else (the application role may create tables) would be
-- adopted by IF NOT EXISTS with its owner's rights: refuse it (as 0008 does).
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_class WHERE oid = to_regclass('public.artifacts')
               AND pg_get_userbyid(relowner) <> 'milestones_owner') THEN
        RAISE EXCEPTION 'public.artifacts exists and belongs to %, not milestones_owner: '
            'someone else made it; drop it and upgrade again',
            (SELECT pg_get_userbyid(relowner) FROM pg_class
             WHERE oid = to_regclass('public.artifacts'));
    END IF;
END $$;

CREATE TABLE IF NOT EXISTS public.artifacts (
    project_id uuid NOT NULL,
    sha256 bytea NOT NULL,
    size bigint NOT NULL,
    media_type text NOT NULL CHECK (char_length(media_type) BETWEEN 3 AND 255),
    filename text CHECK (char_length(filename) BETWEEN 1 AND 255),
    uploaded_by text NOT NULL,
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    content bytea NOT NULL,
    PRIMARY KEY (project_id, sha256),
    CONSTRAINT artifacts_content_is_its_digest
        CHECK (sha256 = pg_catalog.sha256(content) AND size = length(content))
);
ALTER TABLE public.artifacts ALTER COLUMN content SET STORAGE EXTERNAL;

CREATE OR REPLACE TRIGGER artifacts_append_only BEFORE UPDATE OR DELETE
    ON public.artifacts FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER artifacts_no_truncate BEFORE TRUNCATE
    ON public.artifacts FOR EACH STATEMENT EXECUTE FUNCTION public.milestones_refuse_change();

REVOKE ALL ON public.artifacts FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT ON public.artifacts TO milestones_app;
