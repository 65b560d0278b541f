"""Configuration for the Intuit sandbox: every behaviour the reference notes mark unconfirmed is a field here."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

ConsentDecision = Literal["allow", "deny", "non_admin"]

ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
KNOWN_SCOPES = frozenset(
    {
        ACCOUNTING_SCOPE,
        "com.intuit.quickbooks.payment",
        "openid",
        "profile",
        "email",
        "phone",
        "address",
        "intuit_name",
        "com.intuit.quickbooks.payroll",
        "com.intuit.quickbooks.payroll.timetracking",
        "com.intuit.quickbooks.payroll.benefits",
        "com.intuit.quickbooks.payroll.payslip.read",
        "project-management.project",
        "app-foundations.custom-field-definitions.read",
        "app-foundations.custom-field-definitions",
        "payroll.compensation.read",
        "indirect-tax.tax-calculation.quickbooks",
        "tax-compliance.workpapers.read",
    }
)


@dataclass(frozen=True)
class AutoConsent:
    """Skip the consent page: GET /connect/oauth2 redirects straight away with this decision.

    ``realm_id=None`` picks the first company. ``non_admin`` simulates a user who is not a company admin.
    """

    realm_id: str | None = None
    decision: ConsentDecision = "allow"


@dataclass(frozen=True)
class RateLimits:
    """Per-realm throttles (reference §6). Windows run on real monotonic time divided by ``time_scale``.

    ``time_scale=60`` makes a "minute" last one real second (and a "second" 1/60 s).
    """

    enabled: bool = True
    per_minute: int = 500
    per_second: int = 10
    in_flight: int = 10
    batch_per_minute_app: int = 40
    batch_per_minute_realm: int = 120
    batch_counts_as_items: bool = False
    time_scale: float = 1.0


@dataclass(frozen=True)
class SandboxConfig:
    """Everything that shapes the sandbox's behaviour. Defaults follow the reference notes."""

    client_id: str = "ABsandboxDeferredRevClientId0123456789abcdef"
    client_secret: str = "sandbox-client-secret-0123456789abcdef"
    redirect_uris: tuple[str, ...] = ()
    host: str = "127.0.0.1"
    port: int = 0
    seed: bool = True
    auto_consent: AutoConsent | None = None
    # OAuth lifetimes and rotation (reference §1.5).
    auth_code_lifetime: timedelta = timedelta(minutes=10)
    access_token_lifetime: timedelta = timedelta(hours=1)
    refresh_token_lifetime: timedelta = timedelta(days=100)
    refresh_token_hard_lifetime: timedelta = timedelta(days=5 * 365 + 1)
    rotate_refresh_token_after: timedelta | None = timedelta(hours=24)
    previous_refresh_token_grace: timedelta = timedelta(hours=24)
    revoke_on_code_reuse: bool = True
    # API behaviour.
    xml_auth_faults: bool = False
    xml_throttle_faults: bool = False
    requestid_conflict: Literal["replay", "error"] = "replay"
    requestid_retention: timedelta | None = None
    max_results_over_cap: Literal["error", "clamp"] = "error"
    max_batch_items: int = 30
    imbalance_status: int = 400
    imbalance_code: str = "6000"
    inactive_account_code: str = "610"
    missing_account_code: str = "2500"
    closed_books_block_delete: bool = True
    total_amt: Literal["debits", "zero"] = "debits"
    mark_inactive_names: bool = True
    rate_limits: RateLimits = field(default_factory=RateLimits)
    disconnect_url: str | None = None
