#!/bin/sh
# Run once by the official postgres image when it initialises an empty data directory
# (/docker-entrypoint-initdb.d): lets the `postgres-replica` service stream the WAL.
# wal_level=replica and max_wal_senders=10 are PostgreSQL 16's defaults already.
set -e
echo "host replication all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
