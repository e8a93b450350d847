"""Campaigns: targeted coupons from members' buying habits, with a holdout group, delivery
through each member's channel, and measured results (issue 9; docs/CAMPAIGNS.md)."""
