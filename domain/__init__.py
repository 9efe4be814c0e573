"""The Milestone Ledger domain: the Project aggregate, its events and rules, the application."""
