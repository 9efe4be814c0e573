-- What the application role may do on the owner's tables: on the record only read and append,
-- on principals and tokens also update (a token's revocation); its sequence for INSERT; the
-- ordering lock through its function. Granted by the owner.
-- depends: 0004.views

SET LOCAL ROLE milestones_owner;

REVOKE ALL ON public.ledger_events, public.ledger_events_timeline,
    public.ledger_events_idempotency, public.ledger_snapshots, public.checkpoints
    FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT ON public.ledger_events, public.ledger_events_timeline,
    public.ledger_events_idempotency, public.ledger_snapshots, public.checkpoints
    TO milestones_app;

REVOKE ALL ON public.principals, public.tokens FROM PUBLIC, milestones_app;
GRANT SELECT, INSERT, UPDATE ON public.principals, public.tokens TO milestones_app;

-- The events' notification_id: an INSERT draws from it.
GRANT USAGE, SELECT ON SEQUENCE public.ledger_events_notification_id_seq TO milestones_app;

REVOKE ALL ON FUNCTION public.ledger_events_lock() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION public.ledger_events_lock() TO milestones_app;
