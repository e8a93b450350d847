"""Baskets (header and lines) and returns linked to the original lines."""
