"""The chain of tests/auth: two stores, and callers of every role made on demand."""

from __future__ import annotations

from tests.auth.conftest import chain  # noqa: F401 - fixture

__all__ = ["chain"]
