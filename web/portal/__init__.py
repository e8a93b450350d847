"""The members' portal (``/my``): joining, verifying, signing in, password reset, the account.

Views in :mod:`web.portal.views`, the signed-in member in :mod:`web.portal.session`, codes
leaving through the messaging transports in :mod:`web.portal.codes`.  The domain parts are
``loyalty/accounts`` (no Flask there).
"""

from web.portal.views import bp

__all__ = ["bp"]
