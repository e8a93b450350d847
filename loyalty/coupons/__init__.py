"""Coupons: codes, signed QR payloads, issue by hand, redemption at checkout."""
