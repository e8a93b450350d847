"""Member insight: aggregates, RFM, BG/NBD + Gamma-Gamma, affinities (docs/INSIGHT.md)."""

# The task checkout's outbox row names (declared in loyalty.insight.tasks); a constant here so
# the checkout core names it without importing Celery.
REFRESH_MEMBER_TASK = "insight.refresh_member"
