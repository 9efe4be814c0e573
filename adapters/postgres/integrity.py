"""The event table's integrity inside PostgreSQL: append-only triggers and the hash-chain seal.

`install_statements` is what `milestones db upgrade` runs (idempotently) as the tables' owner:
- a `chain_hash` column, filled by a BEFORE INSERT row trigger with `domain.chain`'s definition
  (the SQL function `<events>_link` is that definition, byte for byte), so every event is sealed
  in the transaction that writes it; rows stored before the column existed are back-filled once;
- a SECURITY DEFINER function that takes the table's EXCLUSIVE ordering lock: the application
  role has only SELECT and INSERT on the events, and PostgreSQL lets only UPDATE, DELETE or
  TRUNCATE privileges take that lock mode; a statement trigger takes it too, so even an INSERT
  that bypasses the event store is serialized and chained in commit order;
- BEFORE UPDATE OR DELETE (row) and BEFORE TRUNCATE (statement) triggers that refuse, for every
  role including the owner and superusers, on the events and every other append-only table.
Only disabling triggers (the owner or a superuser can) gets past them; the chain shows it.
"""

from __future__ import annotations

from collections.abc import Sequence

from psycopg.sql import SQL, Composed, Identifier, Literal

from domain.chain import GENESIS

REFUSE_FUNCTION = "milestones_refuse_change"


def link_function(events_table: str) -> str:
    return f"{events_table}_link"


def lock_function(events_table: str) -> str:
    return f"{events_table}_lock"


def _names(schema: str, events_table: str) -> dict[str, Composed | Identifier | Literal]:
    return {
        "table": SQL("{}.{}").format(Identifier(schema), Identifier(events_table)),
        "link": SQL("{}.{}").format(Identifier(schema), Identifier(link_function(events_table))),
        "lock": SQL("{}.{}").format(Identifier(schema), Identifier(lock_function(events_table))),
        "seal": SQL("{}.{}").format(Identifier(schema), Identifier(f"{events_table}_seal")),
        "serialize": SQL("{}.{}").format(
            Identifier(schema), Identifier(f"{events_table}_serialize")
        ),
        "refuse": SQL("{}.{}").format(Identifier(schema), Identifier(REFUSE_FUNCTION)),
        "genesis": Literal(GENESIS),
        "seal_trigger": Identifier(f"{events_table}_seal"),
        "serialize_trigger": Identifier(f"{events_table}_serialize"),
        "unseal_trigger": Identifier(f"{events_table}_append_only"),
    }


def chain_statements(schema: str, events_table: str) -> list[Composed]:
    """The chain column, its definition, the ordering lock, the seal and a one-time back-fill."""
    n = _names(schema, events_table)
    link = SQL(
        "CREATE OR REPLACE FUNCTION {link}("
        "prev bytea, pos bigint, stream uuid, ver bigint, topic text, state bytea"
        ") RETURNS bytea LANGUAGE sql IMMUTABLE PARALLEL SAFE "
        "SET search_path = pg_catalog, pg_temp AS $$ SELECT sha256("
        "prev || int8send(pos) || uuid_send(stream) || int8send(ver)"
        " || CASE WHEN topic IS NULL THEN int4send(-1)"
        " ELSE int4send(length(convert_to(topic, 'UTF8'))) || convert_to(topic, 'UTF8') END"
        " || CASE WHEN state IS NULL THEN int4send(-1)"
        " ELSE int4send(length(state)) || state END) $$"
    ).format(**n)
    lock = SQL(
        "CREATE OR REPLACE FUNCTION {lock}() RETURNS void LANGUAGE plpgsql SECURITY DEFINER "
        "SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
        "LOCK TABLE {table} IN EXCLUSIVE MODE; END $$"
    ).format(**n)
    serialize = SQL(
        "CREATE OR REPLACE FUNCTION {serialize}() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
        "PERFORM {lock}(); RETURN NULL; END $$"
    ).format(**n)
    # Row-level BEFORE triggers see the rows inserted earlier by the same statement, so a
    # multi-row INSERT chains each row onto the one before it.
    seal = SQL(
        "CREATE OR REPLACE FUNCTION {seal}() RETURNS trigger LANGUAGE plpgsql "
        "SET search_path = pg_catalog, pg_temp AS $$ "
        "DECLARE last_position bigint; last_hash bytea; BEGIN "
        "SELECT notification_id, chain_hash INTO last_position, last_hash FROM {table} "
        "ORDER BY notification_id DESC LIMIT 1; "
        "IF last_position IS NOT NULL AND NEW.notification_id <= last_position THEN "
        "RAISE EXCEPTION 'events are appended in position order: % is not after %', "
        "NEW.notification_id, last_position; END IF; "
        "NEW.chain_hash := {link}(coalesce(last_hash, {genesis}), NEW.notification_id, "
        "NEW.originator_id, NEW.originator_version, NEW.topic, NEW.state); "
        "RETURN NEW; END $$"
    ).format(**n)
    backfill = SQL(
        "DO $$ DECLARE r record; previous bytea := {genesis}; BEGIN "
        "IF NOT EXISTS (SELECT 1 FROM {table} WHERE chain_hash IS NULL) THEN RETURN; END IF; "
        "IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {table_name}::regclass "
        "AND tgname = {unseal_name}) THEN "
        "EXECUTE format('ALTER TABLE %s DISABLE TRIGGER %I', {table_name}, {unseal_name}); "
        "END IF; "
        "FOR r IN SELECT * FROM {table} ORDER BY notification_id LOOP "
        "IF r.chain_hash IS NULL THEN "
        "previous := {link}(previous, r.notification_id, r.originator_id, "
        "r.originator_version, r.topic, r.state); "
        "UPDATE {table} SET chain_hash = previous WHERE notification_id = r.notification_id; "
        "ELSE previous := r.chain_hash; END IF; END LOOP; "
        "IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = {table_name}::regclass "
        "AND tgname = {unseal_name}) THEN "
        "EXECUTE format('ALTER TABLE %s ENABLE TRIGGER %I', {table_name}, {unseal_name}); "
        "END IF; END $$"
    ).format(
        table_name=Literal(f'"{schema}"."{events_table}"'),
        unseal_name=Literal(f"{events_table}_append_only"),
        **n,
    )
    return [
        SQL("ALTER TABLE {table} ADD COLUMN IF NOT EXISTS chain_hash bytea").format(**n),
        link,
        lock,
        serialize,
        seal,
        backfill,
        SQL("ALTER TABLE {table} ALTER COLUMN chain_hash SET NOT NULL").format(**n),
        SQL(
            "CREATE OR REPLACE TRIGGER {serialize_trigger} BEFORE INSERT ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION {serialize}()"
        ).format(**n),
        SQL(
            "CREATE OR REPLACE TRIGGER {seal_trigger} BEFORE INSERT ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION {seal}()"
        ).format(**n),
    ]


def append_only_statements(schema: str, tables: Sequence[str]) -> list[Composed]:
    """Triggers that refuse UPDATE, DELETE and TRUNCATE on each table, for every role."""
    refuse = SQL("{}.{}").format(Identifier(schema), Identifier(REFUSE_FUNCTION))
    statements = [
        SQL(
            "CREATE OR REPLACE FUNCTION {refuse}() RETURNS trigger LANGUAGE plpgsql "
            "SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
            "RAISE EXCEPTION '% on %.% is refused: it is append-only (events are never "
            "updated or deleted)', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME "
            "USING ERRCODE = 'insufficient_privilege'; END $$"
        ).format(refuse=refuse)
    ]
    for table in tables:
        qualified = SQL("{}.{}").format(Identifier(schema), Identifier(table))
        statements += [
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION {refuse}()"
            ).format(name=Identifier(f"{table}_append_only"), table=qualified, refuse=refuse),
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {refuse}()"
            ).format(name=Identifier(f"{table}_no_truncate"), table=qualified, refuse=refuse),
        ]
    return statements
