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
    "checkout.quote": CHECKOUT,
    "checkout.commit": CHECKOUT,
    "checkout.create_return": CHECKOUT,
    "ledger.member_ledger": frozenset({ADMIN, MANAGER, CASHIER}),
    "ledger.adjust_points": BACK_OFFICE,
}

# Reachable with no credentials at all.
PUBLIC: frozenset[str] = frozenset(
    {
        "api-docs.openapi_json",
        "coupons.public_key",
    }
)


def allowed_roles(endpoint: str | None) -> frozenset[str]:
    return ALLOWED.get(endpoint or "", frozenset())
