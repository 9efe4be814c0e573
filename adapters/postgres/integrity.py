"""The event table's integrity inside PostgreSQL: append-only triggers and the hash-chain seal.

`migrations/0003.integrity.sql` installs it, as the tables' owner:
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

This module names what the event store calls at run time.
"""

from __future__ import annotations


def lock_function(events_table: str) -> str:
    """The function the recorder calls to take the events' ordering lock."""
    return f"{events_table}_lock"
