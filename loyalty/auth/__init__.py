"""Who is calling (a till or a staff member) and what they may do."""
