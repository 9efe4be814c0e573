"""HTTP API, command line and infrastructure wiring of Milestone Ledger."""
