"""What an auditor runs on their own machine: the evidence pack's offline verifier
(`auditor/verify_pack.py`), free of the service's imports (the standard library and
`cryptography` only; tests/unit/test_architecture.py holds it to that)."""
