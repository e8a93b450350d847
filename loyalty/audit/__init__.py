"""The audit log: who did what to whom, for staff actions."""
