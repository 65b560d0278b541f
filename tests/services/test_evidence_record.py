"""The evidence file: the approval record with the tie-out, the lines, and each contract's schedule through the period
from the terms frozen at approval; outside text can't turn into a spreadsheet formula; the same inputs, the same
bytes."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.periods import Period
from deferredrev.revrec.schedule import cumulative_at_period_end
from deferredrev.services.evidence_record import EvidenceInputs, EvidenceLine, contract_terms, file_name, note, render

CONTRACT = Contract("C-1", "=HYPERLINK(\"http://x\")", 120000, "USD", date(2026, 1, 1), date(2026, 12, 31),
                    billed_date=date(2025, 12, 20))  # fmt: skip
TIE_OUT = {
    "as_of": "2026-03-31", "account": "Deferred Revenue", "currency": "USD", "quickbooks": 9_050_000,
    "schedule": 9_000_000, "difference": 50_000, "causes": [{"kind": "manual", "amount": 50_000,
                                                              "text": "A manual entry JE-7 of 500.00 on 2026-03-15."}],
}  # fmt: skip


def inputs(**changes: object) -> EvidenceInputs:
    base: dict[str, object] = {
        "doc_number": "DR2603-ABC", "posting_key": "T1|2026-03|contract:C-1|r0", "period": "2026-03",
        "txn_date": date(2026, 3, 31), "currency": "USD", "kind": "recognition", "qbo_id": "231", "preview_id": 7,
        "requested_by": "U0ANA", "previewed_at": datetime(2026, 4, 2, 9, 0, tzinfo=UTC), "approved_by": "U0BO",
        "approved_at": datetime(2026, 4, 2, 9, 5, tzinfo=UTC), "channel": "C0FIN", "message_ts": "1775120400.000100",
        "message_link": "https://acme.slack.com/archives/C0FIN/p1775120400000100",
        "lines": [EvidenceLine(1, "C-1", "scheduled", "Credit", "79", "Services", 1019178, "C-1 March"),
                  EvidenceLine(0, "C-1", "scheduled", "Debit", "92", "Deferred Revenue", 1019178, "C-1 March")],
        "recognitions": [("C-1", "2026-03", 1019178)], "contracts": [contract_terms(CONTRACT)], "tie_out": TIE_OUT,
    }  # fmt: skip
    base.update(changes)
    return EvidenceInputs(**base)  # type: ignore[arg-type]


def sections(content: bytes) -> dict[str, list[list[str]]]:
    """The evidence file's sections by title, each its header row and rows."""
    found: dict[str, list[list[str]]] = {}
    title = None
    for row in csv.reader(io.StringIO(content.decode("utf-8"))):
        if not row:
            title = None
        elif title is None:
            title = row[0]
            found[title] = []
        else:
            found[title].append(row)
    return found


def test_the_approval_record_names_who_when_where_and_the_tie_out() -> None:
    approval = dict(sections(render(inputs()))["approval record"][1:])
    assert approval["previewed by (Slack user)"] == "U0ANA" and approval["approved by (Slack user)"] == "U0BO"
    assert approval["approved at (UTC)"] == "2026-04-02T09:05:00+00:00"
    assert approval["Slack message"] == "https://acme.slack.com/archives/C0FIN/p1775120400000100"
    assert approval["posting key"] == "T1|2026-03|contract:C-1|r0" and approval["QuickBooks id"] == "231"
    assert approval["QuickBooks balance"] == "90500.00" and approval["roll-forward closing balance"] == "90000.00"
    assert approval["difference (QuickBooks - roll-forward)"] == "500.00"
    assert approval["likely cause 1"] == "A manual entry JE-7 of 500.00 on 2026-03-15."


def test_without_a_tie_out_or_a_link_it_says_so() -> None:
    approval = dict(sections(render(inputs(tie_out=None, message_link=None)))["approval record"][1:])
    assert approval["tie-out"] == "not available for this entry" and approval["Slack message"] == "ts 1775120400.000100"
    failed = dict(sections(render(inputs(tie_out={**TIE_OUT, "error": "HTTP 503"})))["approval record"][1:])
    assert failed["tie-out"] == "QuickBooks' balance couldn't be read: HTTP 503" and "QuickBooks balance" not in failed


def test_lines_in_order_and_schedules_through_the_period_from_frozen_terms() -> None:
    record = sections(render(inputs()))
    assert [row[:5] for row in record["lines"][1:]] == [
        ["0", "Debit", "92", "Deferred Revenue", "10191.78"],
        ["1", "Credit", "79", "Services", "10191.78"],
    ]
    schedule = record["schedules through 2026-03"][1:]
    assert [row[9] for row in schedule] == ["2026-01", "2026-02", "2026-03"]
    assert schedule[-1][11] == f"{cumulative_at_period_end(CONTRACT, Period(2026, 3)) / 100:.2f}"
    assert [row[12] for row in schedule] == ["0.00", "0.00", "10191.78"] and schedule[0][7] == "2025-12-20"


def test_outside_text_cannot_become_a_formula_and_rendering_is_deterministic() -> None:
    content = render(inputs())
    assert content == render(inputs())
    schedule = sections(content)["schedules through 2026-03"][1:]
    assert schedule[0][1].startswith("'=")
    assert file_name("DR/26 03") == "deferredrev-evidence-DR-26-03.csv" and "T1|2026-03" in note("T1|2026-03|x")


def test_a_reversal_names_what_it_reverses() -> None:
    reversal = inputs(kind="reversal", reverses="DR2603-ABC (QuickBooks id 231)")
    approval = dict(sections(render(reversal))["approval record"][1:])
    assert approval["kind"] == "reversal" and approval["reverses"] == "DR2603-ABC (QuickBooks id 231)"
