"""A run's occasion: which run of a campaign this is (docs/CAMPAIGNS.md, "Runs and occasions").

* a one-off campaign runs once: ``"launch"``;
* a recurring one once a day (``"2027-03-14"``) or once an ISO week (``"2027-W11"``);
* an automation runs daily, and reaches each member at most once per occasion per year: its
  run occasion is ``"<occasion>@<date>"`` (``"birthday:2027@2027-03-14"``,
  ``"anniversary:2027@..."``, ``"welcome@..."``), and the part before ``@`` is the member's
  occasion, the one their coupon carries (:func:`coupon_occasion`), so the coupon's unique key
  (campaign, member, occasion) refuses a second birthday coupon in the same year whatever the
  runs do.  The audience also leaves out members already in a run of the same occasion.

Pure: dates in, strings out.
"""

from __future__ import annotations

import datetime as dt

from loyalty.campaigns.models import AUTOMATIONS, CampaignKind

ONE_OFF = "launch"
RECURRENCES = ("daily", "weekly")


def automation_prefix(kind: CampaignKind, day: dt.date) -> str:
    """The member's occasion of an automation on ``day``: once a year, or once ever."""
    if kind == CampaignKind.WELCOME:
        return "welcome"
    return f"{kind.value}:{day.year}"


def run_occasion(kind: CampaignKind, recurrence: str | None, day: dt.date) -> str:
    """The occasion of the run a campaign of this kind and recurrence makes on ``day``."""
    if kind in AUTOMATIONS:
        return f"{automation_prefix(kind, day)}@{day.isoformat()}"
    if recurrence == "daily":
        return day.isoformat()
    if recurrence == "weekly":
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    return ONE_OFF


def coupon_occasion(occasion: str) -> str:
    """The occasion a run's coupons carry: an automation's member occasion, else the run's."""
    return occasion.split("@", 1)[0]
