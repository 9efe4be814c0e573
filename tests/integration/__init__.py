"""Tests against real PostgreSQL: the embedded server, or DATABASE_URL."""
