"""Campaigns, runs and targets written through the models, and baskets straight into the
tables (as an import would leave them), for the results tests."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from loyalty.baskets.models import Basket, BasketLine
from loyalty.campaigns.models import (
    Campaign,
    CampaignKind,
    CampaignRun,
    CampaignStatus,
    CampaignTarget,
    RunStatus,
    TargetOutcome,
)
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind

_codes = itertools.count(1)


def make_campaign(db: Session, *, starts_at: dt.datetime, name: str | None = None,
                  attribution_days: int = 14, holdout_percent: int = 10,
                  offer: dict | None = None, cost_per_coupon_minor: int = 1000,
                  status: CampaignStatus = CampaignStatus.ENDED) -> Campaign:
    campaign = Campaign(
        name=name or f"Campaign {next(_codes)}", kind=CampaignKind.TARGETED, status=status,
        offer=offer or {"kind": "amount_off", "amount_minor": 1000, "currency": "AED"},
        currency="AED", holdout_percent=holdout_percent, attribution_days=attribution_days,
        starts_at=starts_at, ends_at=starts_at + dt.timedelta(days=30), created_by="test",
        cost_per_coupon_minor=cost_per_coupon_minor,
    )
    db.add(campaign)
    db.flush()
    return campaign


def plan(db: Session, campaign: Campaign, planned_at: dt.datetime,
         treatment: Iterable[int], holdout: Iterable[int], occasion: str = "launch",
         issued: bool = True) -> CampaignRun:
    """A run whose targets are ``treatment`` (issued, or pending) and ``holdout``."""
    treatment, holdout = list(treatment), list(holdout)
    run = CampaignRun(campaign_id=campaign.id, occasion=occasion, planned_at=planned_at,
                      status=RunStatus.DONE, chunks=1, targets=len(treatment) + len(holdout),
                      holdout=len(holdout))
    db.add(run)
    db.flush()
    outcome = TargetOutcome.ISSUED if issued else TargetOutcome.PENDING
    db.execute(insert(CampaignTarget), [
        {"run_id": run.id, "member_id": m, "holdout": False, "chunk": 0, "outcome": outcome}
        for m in treatment] + [
        {"run_id": run.id, "member_id": m, "holdout": True, "chunk": 0,
         "outcome": TargetOutcome.HOLDOUT} for m in holdout])
    return run


def issue(db: Session, campaign: Campaign, member_id: int, at: dt.datetime, *,
          kind: OfferKind = OfferKind.AMOUNT_OFF, amount_minor: int | None = 1000,
          bonus_points: int | None = None, occasion: str = "launch") -> Coupon:
    coupon = Coupon(code=f"T{next(_codes):011d}", member_id=member_id, campaign_id=campaign.id,
                    occasion=occasion, kind=kind, amount_minor=amount_minor, currency="AED",
                    bonus_points=bonus_points, valid_from=at,
                    valid_to=at + dt.timedelta(days=30), issued_at=at)
    db.add(coupon)
    db.flush()
    return coupon


def basket(db: Session, store_id: int, member_id: int, at: dt.datetime,
           lines: list[tuple[int, int]], *, coupon_discount: int = 0) -> int:
    """A basket of ``lines`` (quantity, net amount); the coupon discount lands on line 1."""
    conn = db.connection()
    total = sum(net for _, net in lines)
    basket_id = conn.execute(insert(Basket.__table__).returning(Basket.__table__.c.id), {
        "store_id": store_id, "member_id": member_id, "currency": "AED",
        "subtotal_minor": total, "payable_minor": total - coupon_discount, "occurred_at": at,
        "coupon_discount_minor": coupon_discount, "points_redeemed": 0,
        "redeemed_value_minor": 0, "points_earned": 0, "bonus_points": 0, "received_at": at,
    }).scalar_one()
    conn.execute(insert(BasketLine.__table__), [
        {"basket_id": basket_id, "line_no": n, "sku": f"SKU{n}", "quantity": qty,
         "unit_price_minor": net // qty, "discount_minor": 0,
         "coupon_discount_minor": coupon_discount if n == 1 else 0, "net_minor": net,
         "points_earned": 0, "points_redeemed": 0, "returned_quantity": 0}
        for n, (qty, net) in enumerate(lines, start=1)])
    return basket_id


def redeem(db: Session, coupon: Coupon, basket_id: int, at: dt.datetime) -> None:
    db.execute(update(Coupon).where(Coupon.id == coupon.id).values(
        status=CouponStatus.REDEEMED, redeemed_basket_id=basket_id, redeemed_at=at))


def bulk_baskets(db: Session, store_id: int,
                 sales: list[tuple[int, dt.datetime, int]]) -> None:
    """Many one-line baskets at once: (member id, when, amount)."""
    conn = db.connection()
    returning = insert(Basket.__table__).returning(Basket.__table__.c.id,
                                                   sort_by_parameter_order=True)
    ids = conn.execute(returning, [
        {"store_id": store_id, "member_id": m, "currency": "AED", "subtotal_minor": amount,
         "payable_minor": amount, "occurred_at": when, "coupon_discount_minor": 0,
         "points_redeemed": 0, "redeemed_value_minor": 0, "points_earned": 0,
         "bonus_points": 0, "received_at": when} for m, when, amount in sales]
    ).scalars().all()
    conn.execute(insert(BasketLine.__table__), [
        {"basket_id": b, "line_no": 1, "sku": "SKU1", "quantity": 1, "unit_price_minor": amount,
         "discount_minor": 0, "coupon_discount_minor": 0, "net_minor": amount,
         "points_earned": 0, "points_redeemed": 0, "returned_quantity": 0}
        for b, (_m, _w, amount) in zip(ids, sales, strict=True)])
