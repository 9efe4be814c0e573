"""The application layer: one named method per command, reads of the past, the ports they need."""
