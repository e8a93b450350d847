"""Messaging: delivery of campaign messages through the member's channel (coupon wallet, email
over SMTP, SMS through an HTTP provider, or a log for the demo), with consent, quiet hours,
localised templates, one-click unsubscribe and at-most-once sends.  See docs/MESSAGING.md."""
