"""A local stand-in for Intuit: OAuth 2.0 / OpenID and the QuickBooks Online Accounting API, over real HTTP.

Faithful to ``qbo-api.md`` (section 9 in particular). Quick start::

    from deferredrev.sandbox.intuit import AutoConsent, Fault, IntuitSandbox, SandboxConfig

    with IntuitSandbox(SandboxConfig(redirect_uris=("http://127.0.0.1/cb",), auto_consent=AutoConsent())) as sb:
        sb.clock.advance(timedelta(hours=2))          # expire access tokens
        sb.inject(Fault.commit_then_fail(path="/journalentry"))
        sb.journal_entries(US_REALM)

Seeded realms (``SandboxConfig(seed=False)`` for none): ``US_REALM`` "Sandbox Company_US_1" (~90 accounts, sub-accounts,
"Deferred Revenue", "Services", "Subscription Revenue", apostrophes and unicode names); ``BIG_REALM`` (2,030 accounts
whose names share prefixes); ``CLOSED_REALM`` (BookCloseDate 2025-12-31, one inactive income account);
``MULTICURRENCY_REALM`` (home USD, EUR/CAD/JPY accounts). Sandbox users: ``admin`` (company admin everywhere) and
``bookkeeper`` (not an admin: consent ends in ``error=access_denied``).

Defaults chosen where the reference notes say "unconfirmed" (each is a ``SandboxConfig`` field):

- Authorization codes live 10 minutes (``auth_code_lifetime``); a reused code is ``invalid_grant`` and also revokes the
  tokens issued from it (``revoke_on_code_reuse=True``).
- Refresh-token value rotates when the current one is at least 24 h old (``rotate_refresh_token_after``; ``timedelta(0)``
  = every refresh, ``None`` = never); the previous value keeps working for 24 h (``previous_refresh_token_grace``) and
  returns the current value. Inactivity expiry 100 days rolling, hard expiry 5 years from the original consent.
  ``x_refresh_token_expires_in`` = the remaining rolling lifetime (capped by the hard expiry).
- Revoke always answers 200 with an empty body (RFC 7009: unknown tokens too) and kills the whole connection (every grant
  of that app on that realm).
- A token for another realm gets 401 / 3200 (lower-case envelope); a token without the accounting scope 403 / 3100.
- ``requestid``: responses below 500 are stored forever (``requestid_retention=None``) per (realm, requestid) and replayed
  byte-for-byte; the same id with a different body replays too (``requestid_conflict="replay"``; ``"error"`` answers
  400 / 600). Longer than 50 chars (36 for batch) → 400 / 2050.
- Query: ``MAXRESULTS`` above 1000 → 400 / 4001 (``max_results_over_cap="error"``; ``"clamp"`` caps to 1000);
  ``MAXRESULTS`` < 1 or ``STARTPOSITION`` < 1 → 4000. Default order is by Id.
- Journal entries: a missing account → 400 / 2500 "Invalid Reference Id : Accounts element id N not found"
  (``missing_account_code``); an inactive account → 400 / 610 "Object Not Found : Something you're trying to use has been
  made inactive..." (``inactive_account_code``); unbalanced → 400 / 6000 with both totals and the difference
  (``imbalance_status`` / ``imbalance_code``); no debit or no credit line → 6000; A/R or A/P line without a
  Customer/Vendor entity → 6000; negative amount → 6000; more decimals than the currency allows (2; JPY 0), a
  non-number or ≥10 integer digits → 2060 "Invalid Number"; bad TxnDate → 2040; DocNumber > 21 / PrivateNote > 4000 /
  line Description > 4000 → 2050 (string length); unknown property → 2010; bad enum (incl. ``""``) → 2170; missing
  Line / AccountRef / Amount / SyncToken / CurrencyRef (multicurrency) → 2020; POST with an ``Id`` that does not exist →
  610 "Another user has deleted this transaction."; stale SyncToken → 5010; TxnDate ≤ BookCloseDate → 6210 on create,
  update and (``closed_books_block_delete=True``) delete; duplicate DocNumber → 6140 only when the company's
  WarnDuplicateJournalNumber is true (true for every seeded company except the big one) unless
  ``include=allowduplicatedocnum``. TotalAmt = sum of debits (``total_amt="debits"``). Balances post to accounts.
- Inactive accounts are shown with " (deleted)" appended to Name / FullyQualifiedName (``mark_inactive_names=True``).
- Batch: at most 30 items (``max_batch_items``), more → 400 / 1040; only JournalEntry create/update/delete and Query items.
- Rate limits (``RateLimits``, per realm, real monotonic time ÷ ``time_scale``): 500/min per realm, 10/s and 10 in flight
  per realm+app, batches 40/min per realm+app and 120/min per realm; a batch counts as 1 toward 500/min
  (``batch_counts_as_items=False``). 429 / 3001 ThrottleExceeded JSON (``xml_throttle_faults`` for XML).
- ``disconnect_from_quickbooks`` GETs ``config.disconnect_url`` (when set) with ``?realmId=...``.
- Amounts come back as JSON numbers; every API success body carries ``time`` (offset -07:00); ``intuit_tid`` on every
  response (admin included).
- Attachments (``attachments.py``): ``POST /upload`` accepts every SDK's multipart shape (part names ``file_metadata_X``
  / ``file_content_X`` paired by suffix, CRLF or LF, a leading blank line, no closing delimiter, base64 parts, JSON or
  XML metadata) and answers one ``AttachableResponse`` item per file, an ``Attachable`` or a ``Fault`` inside a 200.
  A file type outside Intuit's list → 6000; ``FileName`` > 1000 / ``Note`` > 2000 → 2050; a link to a journal entry
  that doesn't exist → 610. ``GET /attachable/{id}`` adds a ``TempDownloadUri``; ``GET /download/{id}`` answers that
  URL as text; links live 15 minutes. ``Attachable`` queries filter on ``AttachableRef.EntityRef.Type`` / ``.value``
  (a dotted property matches any link).
- Ledger and reports (``ledger.py``, ``reports.py``): balances by ``TxnDate`` from journal entries and the invoices and
  credit memos a test books (``book_invoice``), opening balances dated the company's creation, home currency.
  ``GET /reports/BalanceSheet|TrialBalance|GeneralLedger`` answer without a wrapper key; every report is accrual;
  TrialBalance rows are cumulative; GeneralLedger amounts are in the account's natural sign after a "Beginning
  Balance" row.
"""

from __future__ import annotations

from deferredrev.sandbox.intuit.company import Account, Company, Preferences
from deferredrev.sandbox.intuit.config import AutoConsent, RateLimits, SandboxConfig
from deferredrev.sandbox.intuit.faults import Fault
from deferredrev.sandbox.intuit.sandbox import IntuitSandbox, RequestLog, RequestRecord
from deferredrev.sandbox.intuit.seed import BIG_REALM, CLOSED_REALM, MULTICURRENCY_REALM, US_REALM

__all__ = [
    "BIG_REALM",
    "CLOSED_REALM",
    "MULTICURRENCY_REALM",
    "US_REALM",
    "Account",
    "AutoConsent",
    "Company",
    "Fault",
    "IntuitSandbox",
    "Preferences",
    "RateLimits",
    "RequestLog",
    "RequestRecord",
    "SandboxConfig",
    "serve_forever",
]


def serve_forever(host: str = "127.0.0.1", port: int = 4001, config: SandboxConfig | None = None) -> None:
    """Run a sandbox in the foreground (for manual trials); Ctrl-C stops it."""
    IntuitSandbox(config, host=host, port=port).serve_forever()
