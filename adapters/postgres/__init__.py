"""PostgreSQL: the event store's recorder, same-transaction records, roles, pools, migrations."""
