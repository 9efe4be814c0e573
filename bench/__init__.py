"""Benchmarks of the service against raw PostgreSQL baselines measured in the same run."""
