"""The test suite: unit (no database) and integration (real PostgreSQL) tiers."""
