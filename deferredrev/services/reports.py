"""Reports: the deferred-revenue roll-forward over a range of months, its waterfall chart and CSV, and the tie-out to
QuickBooks' ledger (for ``/deferredrev report``, ``deferredrev report`` and each preview).

The roll-forward comes from the contracts' schedules (:mod:`deferredrev.revrec.rollforward`), split by what
DeferredRev has posted (its settled entries' recognitions, by contract and service month). The tie-out reads
QuickBooks (Reports API: the BalanceSheet at the day before the range and at its end for the mapped Deferred Revenue
account's own balance, and the GeneralLedger of that account over the range) and explains the difference
(:mod:`deferredrev.services.tie_out`). Reading QuickBooks can fail: the report is made all the same and says why
the tie-out is missing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select

from deferredrev.clock import Clock
from deferredrev.qbo.errors import QboError
from deferredrev.qbo.reports import ReportError, account_balance, balance_sheet_params, general_ledger_params, ledger_lines
from deferredrev.revrec.money import format_amount, get_currency
from deferredrev.revrec.periods import Period, describe_periods
from deferredrev.revrec.rollforward import Movement, RollForwardReport, roll_forward_csv, roll_forward_range
from deferredrev.services.connections import ConnectionService
from deferredrev.services.contracts import load_contracts
from deferredrev.services.mappings import MappingService
from deferredrev.services.qbo_access import NotConnectedError, QboGateway
from deferredrev.services.report_chart import waterfall_png
from deferredrev.services.tie_out import LedgerMove, TieOutInputs, tie_out, unavailable
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import EntryStatus
from deferredrev.storage.repositories import audit

logger = logging.getLogger(__name__)

SETTLED = (EntryStatus.POSTED.value, EntryStatus.REVERSED.value)
DEFAULT_MONTHS = 12
COLUMNS = ("Month", "Opening", "Billed", "Recognised", "of which not posted", "Released", "Closing")


@dataclass(frozen=True)
class Report:
    team_id: str
    first: Period
    last: Period
    roll_forward: RollForwardReport
    content: dict[str, Any]  # the summary as shown (JSON-able)
    csv_text: str
    png: bytes

    @property
    def file_stem(self) -> str:
        span = str(self.first) if self.first == self.last else f"{self.first}_{self.last}"
        return f"deferredrev-rollforward-{span}"


def range_label(first: Period, last: Period) -> str:
    return describe_periods(Period.range(first, last))


class ReportService:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        gateway: QboGateway,
        connections: ConnectionService,
        mappings: MappingService,
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._connections = connections
        self._mappings = mappings
        self._clock = clock

    def default_range(self) -> tuple[Period, Period]:
        """The twelve months ending with the last one over."""
        last = Period.of(self._clock.now().date()).previous()
        return Period.from_index(last.index - DEFAULT_MONTHS + 1), last

    def roll_forward(self, team_id: str, first: Period, last: Period) -> RollForwardReport:
        with self._sessions() as session:
            contracts = load_contracts(session, team_id)
            posted = _posted_by_service_month(session, team_id)
        return roll_forward_range(contracts, first, last, posted=posted)

    def build(self, team_id: str, first: Period, last: Period, *, requested_by: str) -> Report:
        """The roll-forward over ``first``..``last`` with its tie-out, summary, CSV and chart (recorded in the audit)."""
        report = self.roll_forward(team_id, first, last)
        tied = self.tie_out(team_id, report)
        content = summary(report, tied, company=self._connections.status(team_id).company_name)
        label = range_label(first, last)
        png = waterfall_png(report, title=f"Deferred revenue roll-forward · {label}")
        with self._sessions.begin() as session:
            audit(session, action="report.made", now=self._clock.now(), team_id=team_id, actor=requested_by,
                  first=str(first), last=str(last), tie_out=_figures(tied))  # fmt: skip
        return Report(team_id, first, last, report, content, roll_forward_csv(report), png)

    def preview_tie_out(self, team_id: str, period: Period) -> dict[str, Any] | None:
        """The tie-out shown with a preview: QuickBooks at the month's end beside the roll-forward's closing."""
        return self.tie_out(team_id, self.roll_forward(team_id, period, period))

    # The tie-out ---------------------------------------------------------------------------------------------------

    def tie_out(self, team_id: str, report: RollForwardReport) -> dict[str, Any] | None:
        """QuickBooks' balance of the mapped Deferred Revenue account at the end of the range beside the roll-forward,
        with the causes of any difference; None when there is no mapped account to read."""
        mapping = self._mappings.current(team_id)
        as_of = report.last.end
        if mapping is None:
            return None
        connection = self._connections.status(team_id)
        account = mapping.deferred_revenue_name
        if connection.status != "connected" or connection.realm_id != mapping.realm_id:
            return unavailable(f"QuickBooks is {connection.status.replace('_', ' ')}", as_of=as_of, account=account)
        try:
            return self._read_and_tie(team_id, mapping.realm_id, mapping.deferred_revenue_id, account, report)
        except NotConnectedError as error:
            return unavailable(f"QuickBooks is {error.status}", as_of=as_of, account=account)
        except QboError as error:
            logger.warning("tie-out for team %s: QuickBooks answered %s", team_id, error.__class__.__name__)
            return unavailable(error.user_message, as_of=as_of, account=account)
        except ReportError as error:
            logger.warning("tie-out for team %s: unexpected report: %s", team_id, error)
            return unavailable("QuickBooks' report wasn't in the expected shape", as_of=as_of, account=account)

    def _read_and_tie(
        self, team_id: str, realm_id: str, account_id: str, account_name: str, report: RollForwardReport
    ) -> dict[str, Any]:
        client = self._gateway.client_for(team_id, realm_id)
        as_of, start = report.last.end, report.first.start
        currency = client.account(account_id).currency or client.preferences().home_currency or "USD"
        closing = account_balance(client.report("BalanceSheet", balance_sheet_params(as_of)), account_id)
        opening = account_balance(client.report("BalanceSheet", balance_sheet_params(start - timedelta(days=1))), account_id)
        ledger = ledger_lines(client.report("GeneralLedger", general_ledger_params(account_id, start, as_of)), account_id)
        with self._sessions() as session:
            ours = frozenset(
                str(qbo_id)
                for qbo_id in session.scalars(
                    select(models.JournalEntry.qbo_id).where(
                        models.JournalEntry.team_id == team_id,
                        models.JournalEntry.realm_id == realm_id,
                        models.JournalEntry.qbo_id.is_not(None),
                    )
                )
            )
            posted = _posted_by_date(session, team_id, realm_id, currency, start, as_of)
        return tie_out(
            TieOutInputs(
                account_id=account_id,
                account_name=account_name,
                currency=currency,
                start=start,
                as_of=as_of,
                quickbooks_opening=_minor(opening, currency),
                quickbooks_closing=_minor(closing, currency),
                movement=report.over_range(currency),
                ledger=[
                    LedgerMove(line.txn_date, line.txn_type, line.txn_id, line.doc_number, _minor(line.amount, currency))
                    for line in ledger
                ],
                ours=ours,
                posted_in_range=posted,
                unposted_months=report.unposted_months(currency),
                other_currencies=[code for code in report.currencies if code != currency],
            )
        )


def _minor(amount: Decimal, currency: str) -> int:
    exponent = get_currency(currency).exponent
    return int((amount * (Decimal(10) ** exponent)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _posted_by_service_month(session: Any, team_id: str) -> dict[str, dict[Period, int]]:
    """What DeferredRev's entries in QuickBooks recognise, by contract and service month (a reversed entry and its
    reversal cancel out)."""
    recognition, entry = models.EntryRecognition, models.JournalEntry
    rows = session.execute(
        select(recognition.contract_id, recognition.period, func.sum(recognition.amount_minor))
        .join(entry, entry.id == recognition.entry_id)
        .where(entry.team_id == team_id, entry.status.in_(SETTLED))
        .group_by(recognition.contract_id, recognition.period)
    ).all()
    posted: dict[str, dict[Period, int]] = defaultdict(dict)
    for contract_id, period, amount in rows:
        posted[contract_id][Period.parse(period)] = int(amount)
    return dict(posted)


def _posted_by_date(session: Any, team_id: str, realm_id: str, currency: str, start: date, end: date) -> int:
    """What DeferredRev's entries dated ``start``..``end`` recognise in ``currency``, by its own records."""
    recognition, entry = models.EntryRecognition, models.JournalEntry
    total = session.scalar(
        select(func.sum(recognition.amount_minor))
        .join(entry, entry.id == recognition.entry_id)
        .where(
            entry.team_id == team_id,
            entry.realm_id == realm_id,
            entry.currency == currency,
            entry.status.in_(SETTLED),
            entry.txn_date >= start,
            entry.txn_date <= end,
        )
    )
    return int(total or 0)


def _figures(tied: dict[str, Any] | None) -> dict[str, Any] | None:
    """The tie-out's figures for the audit log (no free text)."""
    if not tied:
        return None
    keep = ("as_of", "account_id", "currency", "quickbooks", "schedule", "difference", "error")
    return {key: tied.get(key) for key in keep} | {"causes": {c["kind"]: c["amount"] for c in tied.get("causes") or ()}}


# The summary as shown ------------------------------------------------------------------------------------------------


def summary(report: RollForwardReport, tied: dict[str, Any] | None, *, company: str | None) -> dict[str, Any]:
    currencies = {}
    for currency in report.currencies:
        over = report.over_range(currency)
        currencies[currency] = {
            "range": _row("", over),
            "months": [_row(str(period), report.totals[currency][period]) for period in report.months],
            "unposted_months": [str(p) for p in report.unposted_months(currency)],
        }
    return {
        "first": str(report.first),
        "last": str(report.last),
        "label": range_label(report.first, report.last),
        "company": company,
        "contracts": len({row.contract_id for row in report.contracts}),
        "currencies": currencies,
        "tie_out": tied,
    }


def _row(period: str, movement: Movement) -> dict[str, Any]:
    return {
        "period": period,
        "opening": movement.opening,
        "billed": movement.billed,
        "recognised": movement.recognised,
        "posted": movement.posted,
        "not_posted": movement.not_posted,
        "released": movement.released,
        "closing": movement.closing,
    }


def table(content: dict[str, Any], currency: str) -> list[str]:
    """The summary of one currency as fixed-width plain-text lines (months, then the range's total)."""
    info = content["currencies"][currency]
    rows: list[tuple[str, ...]] = [COLUMNS]
    for month in info["months"]:
        rows.append((Period.parse(month["period"]).label, *_cells(month, currency)))
    rows.append(("Range", *_cells(info["range"], currency)))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [
        "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in rows
    ]
    return [lines[0], "-" * len(lines[0]), *lines[1:-1], "-" * len(lines[0]), lines[-1]]


def _cells(row: dict[str, Any], currency: str) -> tuple[str, ...]:
    keys = ("opening", "billed", "recognised", "not_posted", "released", "closing")
    return tuple(format_amount(int(row[key]), currency) for key in keys)


def tie_out_lines(tied: dict[str, Any] | None) -> list[str]:
    """The tie-out in plain sentences (the CLI prints them; Slack shows them escaped)."""
    if not tied:
        return ["Tie-out: no Deferred Revenue account is mapped, so there is no QuickBooks balance to compare."]
    if tied.get("error"):
        return [f"Tie-out: QuickBooks' balance of {tied.get('account') or 'the account'} couldn't be read "
                f"({tied['error']}); the roll-forward above is from the contracts alone."]  # fmt: skip
    currency = tied["currency"]
    quickbooks, schedule = format_amount(tied["quickbooks"], currency), format_amount(tied["schedule"], currency)
    figures = f"QuickBooks {quickbooks}, roll-forward {schedule}, difference {format_amount(tied['difference'], currency)}"
    lines = [f"Tie-out at {tied['as_of']}, {tied['account']} ({currency}): {figures}."]
    if not tied["difference"]:
        lines.append("It ties to the cent.")
    lines += [f"- {cause['text']}" for cause in tied.get("causes") or ()]
    if tied.get("other_currencies"):
        lines.append(f"Not compared: {', '.join(tied['other_currencies'])} (the account is in {currency}).")
    return lines
