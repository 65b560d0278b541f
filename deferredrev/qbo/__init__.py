"""Intuit OAuth 2.0 and the QuickBooks Online Accounting API, over an injected ``httpx.Client``.

- :mod:`~deferredrev.qbo.oauth`: authorization URL, code exchange, refresh, revoke, callback parsing.
- :mod:`~deferredrev.qbo.client`: :class:`QboClient`, one company's Accounting API with the retry policy.
- :mod:`~deferredrev.qbo.models`: the few typed objects the app uses (Decimal money, tokens hidden from repr).
- :mod:`~deferredrev.qbo.query`: escaped query strings.
- :mod:`~deferredrev.qbo.errors`: the exception hierarchy and :func:`fault_to_error`.
"""

from __future__ import annotations

from deferredrev.qbo.client import Backoff, QboClient, TokenSource
from deferredrev.qbo.errors import (
    AccessDeniedError,
    InvalidClientError,
    InvalidGrantError,
    OAuthCallbackError,
    QboAuthError,
    QboBusinessValidationError,
    QboClosedPeriodError,
    QboDuplicateDocNumberError,
    QboError,
    QboForbiddenError,
    QboInactiveAccountError,
    QboNotFoundError,
    QboOAuthError,
    QboQueryError,
    QboServerError,
    QboStaleObjectError,
    QboThrottledError,
    QboTransportError,
    QboValidationError,
    fault_to_error,
)
from deferredrev.qbo.models import (
    Account,
    BatchItem,
    BatchResult,
    CompanyInfo,
    JournalEntry,
    JournalEntryLine,
    JournalEntryRequest,
    PostingType,
    Preferences,
    TokenSet,
)
from deferredrev.qbo.oauth import ACCOUNTING_SCOPE, CallbackResult, IntuitEndpoints, IntuitOAuth, parse_callback

__all__ = [
    "ACCOUNTING_SCOPE",
    "AccessDeniedError",
    "Account",
    "Backoff",
    "BatchItem",
    "BatchResult",
    "CallbackResult",
    "CompanyInfo",
    "IntuitEndpoints",
    "IntuitOAuth",
    "InvalidClientError",
    "InvalidGrantError",
    "JournalEntry",
    "JournalEntryLine",
    "JournalEntryRequest",
    "OAuthCallbackError",
    "PostingType",
    "Preferences",
    "QboAuthError",
    "QboBusinessValidationError",
    "QboClient",
    "QboClosedPeriodError",
    "QboDuplicateDocNumberError",
    "QboError",
    "QboForbiddenError",
    "QboInactiveAccountError",
    "QboNotFoundError",
    "QboOAuthError",
    "QboQueryError",
    "QboServerError",
    "QboStaleObjectError",
    "QboThrottledError",
    "QboTransportError",
    "QboValidationError",
    "TokenSet",
    "TokenSource",
    "fault_to_error",
    "parse_callback",
]
