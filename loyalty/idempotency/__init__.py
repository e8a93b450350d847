"""Idempotency keys for mutating calls from tills."""
