"""Tiers: qualification on trailing 12-month spend, multipliers, downgrade rules."""
