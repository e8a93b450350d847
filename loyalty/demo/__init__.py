"""The deterministic demo chain."""
