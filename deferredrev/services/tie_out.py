"""The tie-out: QuickBooks' balance of the mapped Deferred Revenue account beside the roll-forward's closing balance,
the difference, and its likely causes in plain words, each with its amount. Pure: the caller reads QuickBooks.

Over a range of months (``start`` to ``as_of``), with D the difference QuickBooks − roll-forward at a day:

    D(as_of) = D(day before start)                                   the difference already there
             + (invoices and credit memos in the account − (billed − released))   billing not in the account
             + entries in the account not made by DeferredRev                    manual entries
             + (recognised by the schedule − posted by DeferredRev)              months not posted
             + (posted by DeferredRev − DeferredRev's entries in QuickBooks)      entries changed in QuickBooks

When D(as_of) is zero the balances agree and no cause is listed, even if terms offset each other. Each term comes
from what QuickBooks shows (its balances, and its general ledger for the account over the range)
and from DeferredRev's own records, so the causes add up to the difference to the cent; anything left (there
shouldn't be) is shown as unexplained. Only the account's own balance counts (not its sub-accounts: an invoice booked
to a sub-account is an invoice not booked to the mapped account), in the account's currency; revenue in other
currencies is named, not compared. A difference never blocks anything: it is shown and recorded.

Every text here is plain text (services never write mrkdwn): the bot escapes it where it shows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period, describe_periods
from deferredrev.revrec.rollforward import Movement

JOURNAL_ENTRY = "journal entry"
MANUAL_NAMED = 5


@dataclass(frozen=True)
class LedgerMove:
    """One transaction of the account in QuickBooks' general ledger, in minor units of the account's currency."""

    txn_date: date
    txn_type: str
    txn_id: str | None
    doc_number: str
    amount: int  # as it moves the account's balance (a liability: credits raise it)


@dataclass(frozen=True)
class TieOutInputs:
    account_id: str
    account_name: str
    currency: str
    start: date  # the range's first day
    as_of: date  # the range's last day
    quickbooks_opening: int  # the account's balance at the end of the day before ``start``
    quickbooks_closing: int  # ... at the end of ``as_of``
    movement: Movement  # the roll-forward over the range, in ``currency``
    ledger: Sequence[LedgerMove]  # the account's transactions from ``start`` to ``as_of``
    ours: frozenset[str]  # QuickBooks ids of the journal entries DeferredRev posted
    posted_in_range: int  # what DeferredRev's entries dated in the range recognise, by its own records
    unposted_months: Sequence[Period] = ()
    other_currencies: Sequence[str] = ()


def money(amount: int, currency: str) -> str:
    return f"{format_amount(amount, currency)} {currency}"


def tie_out(inputs: TieOutInputs) -> dict[str, Any]:
    """The tie-out as shown and recorded: figures in minor units, the causes with their amounts and texts."""
    currency, name = inputs.currency, inputs.account_name
    movement = inputs.movement
    difference = inputs.quickbooks_closing - movement.closing
    opening_difference = inputs.quickbooks_opening - movement.opening
    ours = [m for m in inputs.ledger if _is_entry(m) and m.txn_id in inputs.ours]
    manual = [m for m in inputs.ledger if _is_entry(m) and m.txn_id not in inputs.ours]
    sales = [m for m in inputs.ledger if not _is_entry(m)]
    in_quickbooks = -sum(m.amount for m in ours)  # what DeferredRev's entries in QuickBooks recognise
    billing = sum(m.amount for m in sales) - (movement.billed - movement.released)
    not_posted = movement.recognised - inputs.posted_in_range
    changed = inputs.posted_in_range - in_quickbooks
    manual_total = sum(m.amount for m in manual)
    explained = opening_difference + billing + manual_total + not_posted + changed
    # Only a difference needs explaining: movements that offset each other to the cent (revenue recognised by hand
    # instead of posted, say) leave the balances agreeing, which is what the tie-out answers.
    causes = [
        cause
        for cause in (
            _opening(opening_difference, inputs),
            _not_posted(not_posted, inputs),
            _manual(manual, manual_total, inputs),
            _billing(billing, sum(m.amount for m in sales), inputs),
            _changed(changed, inputs),
            _unexplained(difference - explained, inputs),
        )
        if cause is not None and difference
    ]
    return {
        "from": inputs.start.isoformat(),
        "as_of": inputs.as_of.isoformat(),
        "account_id": inputs.account_id,
        "account": name,
        "currency": currency,
        "quickbooks": inputs.quickbooks_closing,
        "schedule": movement.closing,
        "difference": difference,
        "causes": causes,
        "other_currencies": list(inputs.other_currencies),
        "error": None,
    }


def unavailable(reason: str, *, as_of: date, account: str | None = None, currency: str | None = None) -> dict[str, Any]:
    """A tie-out that couldn't be made, and why (it never blocks anything)."""
    return {"as_of": as_of.isoformat(), "account": account, "currency": currency, "error": reason, "causes": []}


def _is_entry(move: LedgerMove) -> bool:
    return move.txn_type.strip().lower() == JOURNAL_ENTRY


def _cause(kind: str, amount: int, text: str) -> dict[str, Any]:
    return {"kind": kind, "amount": amount, "text": text}


def _day(day: date) -> str:
    return day.isoformat()


def _opening(amount: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not amount:
        return None
    before = inputs.start - timedelta(days=1)
    return _cause(
        "opening",
        amount,
        f"{money(amount, inputs.currency)} of the difference was already there on {_day(before)}, before this range: "
        "run the report from an earlier month to see where it comes from.",
    )


def _not_posted(amount: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not amount:
        return None
    if amount > 0:
        months = f" ({describe_periods(list(inputs.unposted_months))})" if inputs.unposted_months else ""
        return _cause(
            "not_posted",
            amount,
            f"Months not posted: {money(amount, inputs.currency)} of revenue the contracts schedule from "
            f"{_day(inputs.start)} to {_day(inputs.as_of)} isn't posted to QuickBooks yet{months}. It leaves the "
            "account when those months' previews are approved.",
        )
    return _cause(
        "posted_ahead",
        amount,
        f"DeferredRev's entries dated from {_day(inputs.start)} to {_day(inputs.as_of)} recognise "
        f"{money(-amount, inputs.currency)} more than the contracts now schedule (a contract changed after it was "
        "posted, or revenue was posted before its contract was billed); the next preview's catch-up lines correct it.",
    )


def _manual(moves: Sequence[LedgerMove], total: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not moves:
        return None
    named = [
        f"{move.txn_type} {move.doc_number or move.txn_id or ''}".strip() + f" on {_day(move.txn_date)}: "
        f"{money(move.amount, inputs.currency)}"
        for move in moves[:MANUAL_NAMED]
    ]
    more = f"; and {len(moves) - MANUAL_NAMED} more" if len(moves) > MANUAL_NAMED else ""
    return _cause(
        "manual",
        total,
        f"Manual entries in {inputs.account_name}: {len(moves)} journal "
        f"{'entry' if len(moves) == 1 else 'entries'} not made by DeferredRev move it by "
        f"{money(total, inputs.currency)} ({'; '.join(named)}{more}).",
    )


def _billing(amount: int, booked: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not amount:
        return None
    expected = inputs.movement.billed - inputs.movement.released
    released = (
        f" less {money(inputs.movement.released, inputs.currency)} released by cancellations"
        if inputs.movement.released
        else ""
    )
    what = (
        "invoices not booked to the mapped account (booked to another account or a sub-account, or not booked yet)"
        if amount < 0
        else "invoices or credit notes for amounts the contracts don't bill (a contract missing, or billed on another "
        "date than its billed_date)"
    )
    return _cause(
        "billing",
        amount,
        f"Billing: the contracts bill {money(inputs.movement.billed, inputs.currency)}{released} from "
        f"{_day(inputs.start)} to {_day(inputs.as_of)}, but invoices and credit memos in {inputs.account_name} come "
        f"to {money(booked, inputs.currency)} ({money(expected, inputs.currency)} expected): {what}.",
    )


def _changed(amount: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not amount:
        return None
    return _cause(
        "changed_in_quickbooks",
        amount,
        f"DeferredRev's own entries in {inputs.account_name} differ from what it posted by "
        f"{money(amount, inputs.currency)}: an entry was deleted or edited in QuickBooks.",
    )


def _unexplained(amount: int, inputs: TieOutInputs) -> dict[str, Any] | None:
    if not amount:
        return None
    return _cause(
        "unexplained",
        amount,
        f"{money(amount, inputs.currency)} isn't explained by the account's transactions in QuickBooks' general "
        "ledger (an entry in another currency, or one dated outside the range).",
    )
