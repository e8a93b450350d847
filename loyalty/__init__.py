"""Loyalty back office: members, cards, baskets, the points ledger and the checkout API."""
