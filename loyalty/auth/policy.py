"""The access policy: which roles may call which endpoint.  Anything not listed is denied.

Roles are the staff roles plus ``till`` (a till's device token).  Store scoping (a cashier or a
till only acts in its own store) is enforced where the store is known, via
:meth:`Principal.check_store`.  ``tests/auth/test_access_matrix.py`` walks every endpoint x role.
"""

from __future__ import annotations

ADMIN, MANAGER, CASHIER, MARKETER, TILL = "admin", "store_manager", "cashier", "marketer", "till"
STAFF = frozenset({ADMIN, MANAGER, CASHIER, MARKETER})
CHECKOUT = frozenset({TILL, CASHIER, MANAGER, ADMIN})
BACK_OFFICE = frozenset({ADMIN, MANAGER})

# endpoint name -> roles allowed.  Endpoints not named here answer 403 to everyone.
ALLOWED: dict[str, frozenset[str]] = {
    "cards.identify_card": CHECKOUT,
    # cards: a cashier may block a lost card at once; replacing one is a back-office act
    "cards.block_card": frozenset({ADMIN, MANAGER, CASHIER}),
    "cards.replace_card": BACK_OFFICE,
    "cards.card_barcode": frozenset({ADMIN, MANAGER, CASHIER}),
    "cards.card_qr": frozenset({ADMIN, MANAGER, CASHIER}),
    # members: chain-wide (not store-bound); the till may look a member up by phone
    "members.enrol_member": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.search_members": CHECKOUT,
    "members.get_member": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.update_member": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.consent_history": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.record_consent": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.member_notes": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.add_note": frozenset({ADMIN, MANAGER, CASHIER}),
    "members.issue_card": BACK_OFFICE,
    # catalog: tills cache it; HQ reads it
    "catalog.list_products": CHECKOUT | {MARKETER},
    "checkout.quote": CHECKOUT,
    "checkout.commit": CHECKOUT,
    # a till replaying its outbox after being offline (docs/OFFLINE.md): tills only
    "checkout.commit_batch": frozenset({TILL}),
    "checkout.create_return": CHECKOUT,
    "ledger.member_ledger": frozenset({ADMIN, MANAGER, CASHIER}),
    "ledger.adjust_points": BACK_OFFICE,
    # coupons: issued by hand at HQ or by a store manager (own store only); any staff may look
    "coupons.issue_coupon": frozenset({ADMIN, MANAGER, MARKETER}),
    "coupons.list_coupons": STAFF,
    "coupons.get_coupon": STAFF,
    "coupons.barcode": STAFF,
    "coupons.qr_code": STAFF,
    # stores and tills: admins everywhere, store managers in their own store (check_store)
    "stores.list_stores": frozenset({ADMIN}),
    "stores.create_store": frozenset({ADMIN}),
    "stores.list_tills": BACK_OFFICE,
    "stores.add_till": BACK_OFFICE,
    "stores.revoke_till": BACK_OFFICE,
    # staff: a store manager sees their store's staff and adds cashiers to it only
    "staff.list_staff": BACK_OFFICE,
    "staff.add_staff": BACK_OFFICE,
    "staff.sign_out": STAFF,  # ends the session whose token signs the request
    # earning rules and tiers: programme terms, set at HQ by admins; managers and marketers
    # may read them
    "rules.list_rules": frozenset({ADMIN, MANAGER, MARKETER}),
    "rules.add_rule": frozenset({ADMIN}),
    "rules.end_rule": frozenset({ADMIN}),
    "tiers.list_tiers": frozenset({ADMIN, MANAGER, MARKETER}),
    "tiers.set_tiers": frozenset({ADMIN}),
    # member insight: the back office and marketing read it (chain-wide, like members)
    "insight.member_insight": frozenset({ADMIN, MANAGER, MARKETER}),
    # segments: marketing's audiences, chain-wide
    "segments.preview_rule": frozenset({ADMIN, MARKETER}),
    "segments.list_segments": frozenset({ADMIN, MARKETER}),
    "segments.create_segment": frozenset({ADMIN, MARKETER}),
    "segments.get_segment": frozenset({ADMIN, MARKETER}),
    "segments.preview_segment": frozenset({ADMIN, MARKETER}),
    # campaigns: marketing creates, launches and cancels them; store managers may read them
    # (their stores' results are the results endpoints'); cashiers and tills nothing
    "campaigns.list_campaigns": frozenset({ADMIN, MARKETER, MANAGER}),
    "campaigns.get_campaign": frozenset({ADMIN, MARKETER, MANAGER}),
    "campaigns.list_runs": frozenset({ADMIN, MARKETER, MANAGER}),
    "campaigns.create_campaign": frozenset({ADMIN, MARKETER}),
    "campaigns.update_campaign": frozenset({ADMIN, MARKETER}),
    "campaigns.dry_run": frozenset({ADMIN, MARKETER}),
    "campaigns.launch_campaign": frozenset({ADMIN, MARKETER}),
    "campaigns.cancel_campaign": frozenset({ADMIN, MARKETER}),
    # campaign results: marketing chain-wide, a store manager their own store's baskets only
    # (the view narrows to the caller's store); fairness is chain-wide, marketing's alone
    "campaign_results.get_results": frozenset({ADMIN, MARKETER, MANAGER}),
    "campaign_results.get_fairness": frozenset({ADMIN, MARKETER}),
    "campaign_results.get_programme_fairness": frozenset({ADMIN, MARKETER}),
}

# Reachable with no credentials at all.
PUBLIC: frozenset[str] = frozenset(
    {
        "api-docs.openapi_json",
        "api-docs.openapi_swagger_ui",  # Swagger UI at /api/v1/docs, and its files
        "api_docs_assets",
        "coupons.public_key",
        "staff.sign_in",  # username + password in, API token out
    }
)


def allowed_roles(endpoint: str | None) -> frozenset[str]:
    return ALLOWED.get(endpoint or "", frozenset())
