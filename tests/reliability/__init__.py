"""Reliability checks (issue 7): crash, concurrency and restore tests of SPEC §5's promises."""
