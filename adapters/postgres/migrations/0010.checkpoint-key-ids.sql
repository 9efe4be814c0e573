-- One signing identity per deployment, with rotation (issue 14, item 1).
--
-- Every checkpoint records its key id: the first 16 bytes of sha256 over the 32 raw bytes of the
-- public key that signed it, in hex (adapters/signing.py `key_id`). It is a generated column, so
-- it can never disagree with the stored public key, and rows signed before this migration get it
-- too (a table rewrite, which fires no row trigger: the table stays append-only).
--
-- A hand-over checkpoint (`milestones keys rotate`) is signed by the new key (`public_key`,
-- `signature`) and by the key it replaces (`previous_public_key`, `previous_signature`), both over
-- the same message; `format` says which message a row's signatures cover (1: the original one,
-- without a key id; 2: with it, docs/trust.md §4).
--
-- Two processes may now sign the same position with different keys (a deployment being rotated,
-- or a misconfigured one), so a position is no longer unique: a checkpoint is (position, key id).
-- Idempotent: every statement may run again on a database that has it applied already.
-- depends: 0009.answers-expire

SET LOCAL ROLE milestones_owner;

ALTER TABLE public.checkpoints
    ADD COLUMN IF NOT EXISTS key_id text
        GENERATED ALWAYS AS (left(encode(sha256(public_key), 'hex'), 32)) STORED,
    ADD COLUMN IF NOT EXISTS format smallint NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS previous_public_key bytea,
    ADD COLUMN IF NOT EXISTS previous_signature bytea;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'checkpoints_hand_over_signed_by_both'
                     AND conrelid = 'public.checkpoints'::regclass) THEN
        ALTER TABLE public.checkpoints ADD CONSTRAINT checkpoints_hand_over_signed_by_both
            CHECK ((previous_public_key IS NULL) = (previous_signature IS NULL)
                   AND (previous_public_key IS NULL OR format >= 2));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_constraint
                   WHERE conname = 'checkpoints_format_known'
                     AND conrelid = 'public.checkpoints'::regclass) THEN
        ALTER TABLE public.checkpoints ADD CONSTRAINT checkpoints_format_known
            CHECK (format IN (1, 2));
    END IF;
    -- The primary key was the position alone.
    IF EXISTS (SELECT 1 FROM pg_constraint
               WHERE conname = 'checkpoints_pkey' AND conrelid = 'public.checkpoints'::regclass
                 AND array_length(conkey, 1) = 1) THEN
        ALTER TABLE public.checkpoints DROP CONSTRAINT checkpoints_pkey;
        ALTER TABLE public.checkpoints ADD CONSTRAINT checkpoints_pkey PRIMARY KEY (position, key_id);
    END IF;
END $$;

-- The grants stand (0005: SELECT, INSERT for the application role, on the whole table).
