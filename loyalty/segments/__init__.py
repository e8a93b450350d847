"""Segments: JSON rules over member insight and profile, compiled to one SQL query."""
