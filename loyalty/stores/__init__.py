"""Stores (branches under one head office) and their tills."""
