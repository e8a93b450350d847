"""The points ledger: accounts, balanced postings, append-only entries, expiring lots."""
