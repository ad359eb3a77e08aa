"""Privacy: PII detection, PII policies and differential-privacy accounting (pure: no I/O)."""
