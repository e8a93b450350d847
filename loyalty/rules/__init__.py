"""Earning rules and the pure engine that turns a basket into points."""
