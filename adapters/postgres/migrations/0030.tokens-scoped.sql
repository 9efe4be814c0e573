-- Scoped, expiring tokens (issue 16, item 3): a token may be limited to some projects
-- (`projects`, NULL for every project its principal may read), to reading (`read_only`), and to
-- a time (`expires_at`, NULL for never). The scope only narrows what the principal may do.
--
-- The application role still only reads `tokens` (0008): it cannot widen a scope, lift an
-- expiry or mint a token. An admin issues one through the API by presenting its own live,
-- unscoped token to `milestones_issue_token`, which runs as the owner and checks that token
-- itself (it hashes the secret, which the service never stores): the service's role, holding
-- only hashes, cannot issue a token on its own.
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0009.answers-expire

SET LOCAL ROLE milestones_owner;

ALTER TABLE public.tokens ADD COLUMN IF NOT EXISTS projects uuid[];
ALTER TABLE public.tokens ADD COLUMN IF NOT EXISTS read_only boolean NOT NULL DEFAULT false;
ALTER TABLE public.tokens ADD COLUMN IF NOT EXISTS expires_at timestamptz;

CREATE OR REPLACE FUNCTION public.milestones_issue_token(
    issuer text, token_hash text, principal text, projects uuid[], read_only boolean,
    expires_at timestamptz
) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    allowed boolean;
BEGIN
    SELECT p.role = 'admin' AND t.projects IS NULL AND NOT t.read_only
        AND (t.expires_at IS NULL OR t.expires_at > now())
        INTO allowed
        FROM public.tokens t JOIN public.principals p ON p.name = t.principal
        WHERE t.token_hash = encode(sha256(convert_to(issuer, 'UTF8')), 'hex')
          AND t.revoked_at IS NULL
          AND NOT EXISTS (SELECT FROM public.token_revocations r
                          WHERE r.token_hash = t.token_hash);
    IF allowed IS NOT TRUE THEN
        RAISE EXCEPTION 'only a live, unscoped admin token may issue a token'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    INSERT INTO public.tokens (token_hash, principal, projects, read_only, expires_at)
        VALUES (milestones_issue_token.token_hash, milestones_issue_token.principal,
                milestones_issue_token.projects, milestones_issue_token.read_only,
                milestones_issue_token.expires_at);
END $$;

REVOKE ALL ON FUNCTION public.milestones_issue_token(text, text, text, uuid[], boolean, timestamptz)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.milestones_issue_token(text, text, text, uuid[], boolean, timestamptz)
    TO milestones_app;
