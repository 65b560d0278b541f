"""The evidence file attached to each posted journal entry in QuickBooks: pure rendering, no I/O.

One CSV file answers the auditor's third question (who approved the entry, on what basis) beside the entry itself.
Three sections, each with its own header row, separated by a blank line:

1. ``approval record``: the entry (DocNumber, QuickBooks id, posting key, period, date), who asked for the preview
   and when, who approved it and when, the Slack channel and a link to the preview message, and the tie-out shown
   with the preview (QuickBooks' balance of the Deferred Revenue account beside the roll-forward's closing balance,
   the difference and its likely causes).
2. ``lines``: every line of the entry as posted (debit and credit, account, amount, contract, description).
3. ``schedules``: for each contract on the entry, its terms as they were when the entry was approved and its
   schedule month by month through the entry's period: scheduled, recognised to date, and what this entry posts.

Text from outside (customers, contract ids, account names, descriptions) goes through :func:`spreadsheet_safe`, so a
spreadsheet shows it as text. Rendering the same inputs gives the same bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from deferredrev.revrec.contracts import Contract, Method
from deferredrev.revrec.csv_contracts import spreadsheet_safe
from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at_period_end, scheduled_amount

CONTENT_TYPE = "text/csv"
SCHEDULE_COLUMNS = (
    "contract_id", "customer", "contract_amount", "currency", "start_date", "end_date", "method", "billed_date",
    "cancel_date", "period", "scheduled", "recognised_to_date", "in_this_entry",
)  # fmt: skip


@dataclass(frozen=True)
class EvidenceLine:
    line_no: int
    contract_id: str
    kind: str
    posting_type: str
    account_id: str
    account_name: str
    amount: int
    description: str


@dataclass(frozen=True)
class EvidenceInputs:
    doc_number: str
    posting_key: str
    period: str
    txn_date: date
    currency: str
    kind: str  # recognition | reversal
    qbo_id: str | None
    preview_id: int | None
    requested_by: str | None
    previewed_at: datetime | None
    approved_by: str | None
    approved_at: datetime | None
    channel: str | None
    message_ts: str | None
    message_link: str | None
    lines: Sequence[EvidenceLine]
    recognitions: Sequence[tuple[str, str, int]]  # (contract_id, service period, amount) this entry recognises
    contracts: Sequence[Mapping[str, Any]] = ()  # frozen terms, see contract_terms()
    tie_out: Mapping[str, Any] | None = None
    reverses: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


def file_name(doc_number: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in doc_number)
    return f"deferredrev-evidence-{safe}.csv"


def note(posting_key: str) -> str:
    """The Attachable's note: how a worker recognises this entry's evidence among the entry's attachments."""
    return f"DeferredRev evidence (who approved this entry, on what basis). Posting key: {posting_key}"[:2000]


def contract_terms(contract: Contract) -> dict[str, Any]:
    """A contract's terms as JSON, frozen with the approval."""
    return {
        "contract_id": contract.contract_id,
        "customer": contract.customer,
        "amount": contract.amount,
        "currency": contract.currency,
        "start_date": contract.start_date.isoformat(),
        "end_date": contract.end_date.isoformat(),
        "method": contract.method.value,
        "cancel_date": contract.cancel_date.isoformat() if contract.cancel_date else None,
        "billed_date": contract.billed_date.isoformat() if contract.billed_date else None,
    }


def _contract(terms: Mapping[str, Any]) -> Contract:
    return Contract(
        contract_id=str(terms["contract_id"]),
        customer=str(terms["customer"]),
        amount=int(terms["amount"]),
        currency=str(terms["currency"]),
        start_date=date.fromisoformat(terms["start_date"]),
        end_date=date.fromisoformat(terms["end_date"]),
        method=Method(terms.get("method") or "daily"),
        cancel_date=date.fromisoformat(terms["cancel_date"]) if terms.get("cancel_date") else None,
        billed_date=date.fromisoformat(terms["billed_date"]) if terms.get("billed_date") else None,
    )


def _when(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment is not None else ""


def _money(amount: int | None, currency: str) -> str:
    return "" if amount is None else format_amount(amount, currency, thousands=False)


def render(inputs: EvidenceInputs) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    _approval(writer, inputs)
    writer.writerow([])
    _lines(writer, inputs)
    writer.writerow([])
    _schedules(writer, inputs)
    return buffer.getvalue().encode("utf-8")


def _approval(writer: Any, inputs: EvidenceInputs) -> None:
    writer.writerow(["approval record"])
    writer.writerow(["field", "value"])
    rows: list[tuple[str, str]] = [
        ("journal entry (DocNumber)", inputs.doc_number),
        ("QuickBooks id", inputs.qbo_id or ""),
        ("posting key", inputs.posting_key),
        ("kind", inputs.kind),
        ("period", inputs.period),
        ("dated", inputs.txn_date.isoformat()),
        ("currency", inputs.currency),
        ("preview", f"#{inputs.preview_id}" if inputs.preview_id is not None else ""),
        ("previewed by (Slack user)", inputs.requested_by or ""),  # "Name (Slack ID)"
        ("previewed at (UTC)", _when(inputs.previewed_at)),
        ("approved by (Slack user)", inputs.approved_by or ""),
        ("approved at (UTC)", _when(inputs.approved_at)),
        ("Slack channel", inputs.channel or ""),
        ("Slack message", inputs.message_link or (f"ts {inputs.message_ts}" if inputs.message_ts else "")),
    ]
    if inputs.reverses:
        rows.append(("reverses", inputs.reverses))
    rows += _tie_out_rows(inputs.tie_out)
    rows += list(inputs.extra.items())
    for name, value in rows:
        writer.writerow([name, spreadsheet_safe(value)])


def _tie_out_rows(tie_out: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    if not tie_out:
        return [("tie-out", "not available for this entry")]
    currency = str(tie_out.get("currency") or "USD")
    rows = [
        ("tie-out as of", str(tie_out.get("as_of") or "")),
        ("tie-out account", str(tie_out.get("account") or "")),
        ("tie-out currency", currency),
    ]
    if tie_out.get("error"):
        return [*rows, ("tie-out", f"QuickBooks' balance couldn't be read: {tie_out['error']}")]
    rows += [
        ("QuickBooks balance", _money(tie_out.get("quickbooks"), currency)),
        ("roll-forward closing balance", _money(tie_out.get("schedule"), currency)),
        ("difference (QuickBooks - roll-forward)", _money(tie_out.get("difference"), currency)),
    ]
    for number, cause in enumerate(tie_out.get("causes") or (), start=1):
        rows.append((f"likely cause {number}", str(cause.get("text") or "")))
    return rows


def _lines(writer: Any, inputs: EvidenceInputs) -> None:
    writer.writerow(["lines"])
    writer.writerow(["line", "posting_type", "account_id", "account", "amount", "currency", "contract_id", "kind",
                     "description"])  # fmt: skip
    for line in sorted(inputs.lines, key=lambda line: line.line_no):
        writer.writerow([
            line.line_no, line.posting_type, spreadsheet_safe(line.account_id), spreadsheet_safe(line.account_name),
            _money(line.amount, inputs.currency), inputs.currency, spreadsheet_safe(line.contract_id), line.kind,
            spreadsheet_safe(line.description),
        ])  # fmt: skip


def _schedules(writer: Any, inputs: EvidenceInputs) -> None:
    through = Period.parse(inputs.period)
    writer.writerow([f"schedules through {through}"])
    writer.writerow(SCHEDULE_COLUMNS)
    in_entry: dict[tuple[str, str], int] = {}
    for contract_id, service_period, amount in inputs.recognitions:
        in_entry[(contract_id, service_period)] = in_entry.get((contract_id, service_period), 0) + amount
    for terms in sorted(inputs.contracts, key=lambda t: str(t["contract_id"])):
        contract = _contract(terms)
        code = contract.currency
        first = Period.of(contract.start_date)
        last = min(through, Period.of(contract.last_service_day)) if contract.has_service else first
        for period in Period.range(first, last) if first <= last else []:
            writer.writerow([
                spreadsheet_safe(contract.contract_id), spreadsheet_safe(contract.customer),
                _money(contract.amount, code), code, contract.start_date.isoformat(), contract.end_date.isoformat(),
                contract.method.value, (contract.billed_date or contract.start_date).isoformat(),
                contract.cancel_date.isoformat() if contract.cancel_date else "", str(period),
                _money(scheduled_amount(contract, period), code), _money(cumulative_at_period_end(contract, period), code),
                _money(in_entry.get((contract.contract_id, str(period)), 0), code),
            ])  # fmt: skip
