"""Adapters of the application's ports: the event store and every table beside it."""
