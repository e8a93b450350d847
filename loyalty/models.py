"""Every model, imported once so metadata is complete (Alembic and table creation use it)."""

from loyalty.accounts.models import CodePurpose, MemberLogin, OneTimeCode
from loyalty.audit.models import AuditEvent
from loyalty.baskets.models import Basket, BasketLine, BasketReturn, ReturnLine
from loyalty.campaigns.models import Campaign, CampaignRun, CampaignTarget
from loyalty.cards.models import Card, CardStatus
from loyalty.catalog.models import Category, Product
from loyalty.coupons.models import Coupon, CouponStatus, OfferKind
from loyalty.idempotency.models import IdempotencyRecord
from loyalty.insight.models import Affinity, BtydFit, MemberCategoryInsight, MemberInsight
from loyalty.ledger.models import Account, AccountKind, Entry, Lot, Posting, PostingKind, ReviewFlag
from loyalty.members.models import Channel, ConsentRecord, Member, MemberNote
from loyalty.messaging.models import Message, MessageChannel, MessageStatus
from loyalty.outbox.models import OutboxMessage
from loyalty.rules.models import EarningRule, RuleKind
from loyalty.segments.models import Segment
from loyalty.staff.models import Role, StaffSession, StaffUser
from loyalty.stores.models import Store, Till
from loyalty.tiers.models import Tier

__all__ = [
    "Account", "AccountKind", "AuditEvent", "Basket", "BasketLine", "BasketReturn", "Campaign",
    "CampaignRun", "CampaignTarget", "Card", "CodePurpose", "MemberLogin", "OneTimeCode",
    "CardStatus", "Category", "Channel", "ConsentRecord", "Coupon", "CouponStatus",
    "EarningRule", "Entry", "IdempotencyRecord", "Lot", "Member", "MemberNote", "Message",
    "MessageChannel", "MessageStatus", "OfferKind",
    "Affinity", "BtydFit", "MemberCategoryInsight", "MemberInsight",
    "OutboxMessage", "Posting", "PostingKind", "Product", "ReturnLine", "ReviewFlag", "Role",
    "RuleKind", "Segment", "StaffSession", "StaffUser", "Store", "Till", "Tier",
]
