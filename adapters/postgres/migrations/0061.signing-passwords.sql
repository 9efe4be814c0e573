-- Electronic signatures (issue 15, item 3): each principal may have a printed name
-- (`display_name`, shown beside its signatures) and a signing password, separate from its bearer
-- tokens, kept only as an argon2id hash (argon2-cffi's encoded form, which carries its own salt
-- and parameters). Five failed signing attempts in a row lock the principal's signing for a
-- while (MILESTONES_SIGNING_LOCK_SECONDS); every attempt is a row of `signing_attempts`.
--
-- Access control stays read-only to the service's role (0008): it only reads principals and
-- signing passwords. A password is set as the owner by `milestones principal set-password`, or
-- by the principal itself through the service, which presents the caller's own live, writing
-- token to `milestones_set_signing_password` (it runs as the owner and checks that token, as
-- 0030's `milestones_issue_token` does): the service's role cannot set anyone's password on its
-- own. Attempts are append-only: the service may add rows and read them, nobody may change or
-- remove one (so a lock cannot be lifted by rewriting the count). No foreign keys, as for
-- `token_revocations` (0008): the store writes rows only for principals it has found, and a
-- key would tie the principals table to these (TRUNCATE, restores in table order).
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0060.schedule-approvals

SET LOCAL ROLE milestones_owner;

ALTER TABLE public.principals ADD COLUMN IF NOT EXISTS display_name text
    CHECK (display_name IS NULL OR char_length(display_name) BETWEEN 1 AND 200);

CREATE TABLE IF NOT EXISTS public.signing_passwords (
    principal text PRIMARY KEY CHECK (char_length(principal) BETWEEN 1 AND 200),
    password_hash text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    set_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS public.signing_attempts (
    id bigserial PRIMARY KEY,
    principal text NOT NULL CHECK (char_length(principal) BETWEEN 1 AND 200),
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS signing_attempts_by_principal
    ON public.signing_attempts (principal, id);

CREATE OR REPLACE TRIGGER signing_attempts_append_only BEFORE UPDATE OR DELETE
    ON public.signing_attempts FOR EACH ROW EXECUTE FUNCTION public.milestones_refuse_change();
CREATE OR REPLACE TRIGGER signing_attempts_no_truncate BEFORE TRUNCATE
    ON public.signing_attempts FOR EACH STATEMENT
    EXECUTE FUNCTION public.milestones_refuse_change();

CREATE OR REPLACE FUNCTION public.milestones_set_signing_password(
    bearer text, password_hash text
) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    who text;
BEGIN
    SELECT t.principal INTO who
        FROM public.tokens t
        WHERE t.token_hash = encode(sha256(convert_to(bearer, 'UTF8')), 'hex')
          AND t.revoked_at IS NULL AND NOT t.read_only
          AND (t.expires_at IS NULL OR t.expires_at > now())
          AND NOT EXISTS (SELECT FROM public.token_revocations r
                          WHERE r.token_hash = t.token_hash);
    IF who IS NULL THEN
        RAISE EXCEPTION 'only a live, writing token may set its own principal''s signing password'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.signing_passwords (principal, password_hash, set_at)
        VALUES (who, milestones_set_signing_password.password_hash, now())
        ON CONFLICT (principal) DO UPDATE
        SET password_hash = EXCLUDED.password_hash, set_at = EXCLUDED.set_at;
    RETURN who;
END $$;

REVOKE ALL ON public.signing_passwords, public.signing_attempts FROM PUBLIC, milestones_app;
GRANT SELECT ON public.signing_passwords TO milestones_app;
GRANT SELECT, INSERT ON public.signing_attempts TO milestones_app;
GRANT USAGE, SELECT ON SEQUENCE public.signing_attempts_id_seq TO milestones_app;
REVOKE ALL ON FUNCTION public.milestones_set_signing_password(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.milestones_set_signing_password(text, text) TO milestones_app;
