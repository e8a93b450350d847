"""Loyalty cards: numbers, status, replacement, barcode and QR rendering."""
