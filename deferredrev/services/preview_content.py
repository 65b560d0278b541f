"""What a preview message shows, computed from a period's drafts: the first lines, totals per currency, the full
detail as CSV, and a fingerprint that tells whether a later recomputation still matches what was shown."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from deferredrev.qbo.models import amount_problem
from deferredrev.revrec.completeness import UnpostedKind
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.csv_contracts import spreadsheet_safe
from deferredrev.revrec.entries import JournalEntryDraft, LineKind, PeriodEntries
from deferredrev.revrec.journal import JournalLine, PostedHistory
from deferredrev.revrec.money import format_amount, get_currency, to_decimal
from deferredrev.revrec.periods import Period
from deferredrev.services.mappings import Mapping
from deferredrev.style import money

LINES_SHOWN = 40
# How the core describes a catch-up pair: "<contract> prior-period catch-up <months> (<customer>)".
CATCH_UP_MARKER = " prior-period catch-up "


def qbo_entry_url(environment: str, qbo_id: str) -> str:
    host = "app.sandbox.qbo.intuit.com" if environment == "sandbox" else "app.qbo.intuit.com"
    return f"https://{host}/app/journal?txnId={qbo_id}"


def fingerprint(entries: PeriodEntries | None, mapping: Mapping | None) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([mapping.deferred_revenue_id, mapping.revenue_id] if mapping else None).encode())
    for draft in entries.drafts if entries else ():
        digest.update(f"\n{draft.posting_key}|{draft.currency}".encode())
        for line in draft.lines:
            digest.update(f";{line.contract_id},{line.kind},{line.posting_type},{line.account_id},{line.amount}".encode())
    return digest.hexdigest()


def summarise(
    drafts: Sequence[JournalEntryDraft], contracts: dict[str, Contract]
) -> tuple[list[dict[str, Any]], int, dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    pairs = 0
    totals: dict[str, dict[str, int]] = {}
    for draft in drafts:
        total = totals.setdefault(draft.currency, {"debits": 0, "credits": 0, "net_revenue": 0, "entries": 0})
        total["debits"] += draft.total_debits
        total["credits"] += draft.total_credits
        total["net_revenue"] += draft.net_revenue
        total["entries"] += 1
        for debit, credit in zip(draft.lines[0::2], draft.lines[1::2], strict=True):
            pairs += 1
            if len(lines) < LINES_SHOWN:
                lines.append(_line(draft, debit, credit, contracts))
    return lines, pairs, totals


def _line(
    draft: JournalEntryDraft, debit: JournalLine, credit: JournalLine, contracts: dict[str, Contract]
) -> dict[str, Any]:
    note = ""
    if debit.kind == LineKind.CATCH_UP:
        # The months a catch-up pair covers are in its description (a contract's catch-up is one pair, or a pair per
        # month when they net to zero around a month included in the entry).
        _, marker, covered = debit.description.partition(CATCH_UP_MARKER)
        note = "catch-up " + covered.split(" (", 1)[0] if marker else "catch-up"
    contract = contracts.get(debit.contract_id)
    # The pair's revenue: positive when it debits Deferred Revenue, negative for a credit (sides swapped).
    signed = debit.amount if debit.account_id == draft.deferred_revenue_id else -debit.amount
    return {
        "doc": draft.doc_number,
        "contract": debit.contract_id,
        "customer": contract.customer if contract else "",
        "description": contract.description if contract else "",
        "signed": signed,
        "signed_text": money(signed, draft.currency),
        "kind": str(debit.kind),
        "debit": debit.account_name,
        "credit": credit.account_name,
        "amount": debit.amount,
        "currency": draft.currency,
        "amount_text": format_amount(debit.amount, get_currency(draft.currency)),
        "note": note,
    }


def completeness_content(
    entries: PeriodEntries | None, history: PostedHistory, include: frozenset[Period], book_close_date: date | None
) -> dict[str, Any]:
    """What the preview says about the books being complete: the earlier months holding revenue never posted that
    this entry leaves out (amounts per currency, and whether QuickBooks has closed them, so including them as catch-up
    is the only way left), the months it catches up and their amounts, and whether it is the workspace's first posting
    (then the months before it can count as recognised elsewhere: the cut-over date offered)."""
    unposted = entries.unposted if entries else ()
    first_posting = not history.all_posted_periods()
    before_first = [month.period for month in unposted if month.kind is UnpostedKind.BEFORE_FIRST_POSTING]
    included: dict[str, int] = {}
    for draft in entries.drafts if entries else ():
        for recognition in draft.catch_up_recognitions:
            if recognition.period in include:
                included[draft.currency] = included.get(draft.currency, 0) + recognition.amount
    return {
        "unposted": [
            {
                "period": str(month.period),
                "label": month.period.label,
                "kind": month.kind.value,
                "amounts": dict(month.amounts),
                "contracts": len(month.contract_ids),
                "closed": book_close_date is not None and month.period.end <= book_close_date,
            }
            for month in unposted
        ],
        "included": [str(month) for month in sorted(include)],
        "included_amounts": dict(sorted(included.items())),
        "first_posting": first_posting,
        "cutover_offer": str(max(before_first).next().start) if first_posting and before_first else None,
    }


def detail_csv(entries: PeriodEntries, contracts: Sequence[Contract]) -> str:
    customers = {c.contract_id: c.customer for c in contracts}
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "doc_number",
            "contract_id",
            "customer",
            "kind",
            "debit_account",
            "credit_account",
            "amount",
            "currency",
            "description",
        ]
    )
    for draft in entries.drafts:
        currency = get_currency(draft.currency)
        for debit, credit in zip(draft.lines[0::2], draft.lines[1::2], strict=True):
            # Names come from the CSV and the chart of accounts: neutralised so a spreadsheet shows them as text.
            writer.writerow([
                draft.doc_number, spreadsheet_safe(debit.contract_id),
                spreadsheet_safe(customers.get(debit.contract_id, "")), str(debit.kind),
                spreadsheet_safe(debit.account_name), spreadsheet_safe(credit.account_name),
                format_amount(debit.amount, currency, thousands=False), draft.currency,
                spreadsheet_safe(debit.description),
            ])  # fmt: skip
    return out.getvalue()


def amounts_quickbooks_refuses(drafts: Sequence[JournalEntryDraft], limit: int = 3) -> list[str]:
    """Lines QuickBooks would refuse (its 10.5 amount format: under 10,000,000,000): one sentence each, at most
    ``limit``, so the preview says so before anything is queued instead of the posting failing. The rule is
    :func:`deferredrev.qbo.models.amount_problem`, applied to the same Decimal the posting worker will send."""
    problems: list[str] = []
    for draft in drafts:
        for line in draft.lines:
            if amount_problem(to_decimal(line.amount, draft.currency)) is not None:
                problems.append(
                    f"{draft.doc_number}: {format_amount(line.amount, draft.currency)} on contract {line.contract_id} "
                    f"is more than QuickBooks accepts on one line (under 10,000,000,000 {draft.currency}). "
                    "Split the contract into smaller ones, then preview again."
                )
                break
        if len(problems) >= limit:
            break
    return problems
