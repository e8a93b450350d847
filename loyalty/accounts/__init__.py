"""Member accounts: a member's own sign-in to the portal (password, one-time codes)."""
