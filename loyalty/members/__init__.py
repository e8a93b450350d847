"""Members: profile, marketing consent and the staff notes timeline."""
