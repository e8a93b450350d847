"""Bringing a retailer's history in: members, baskets and opening balances."""
