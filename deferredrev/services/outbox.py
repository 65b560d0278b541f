"""Outbox rows: the journal entries an approval (or a reversal) queues for the posting worker, with their lines
and the revenue each recognises by contract and service period. Keys and request ids are deterministic."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from deferredrev.revrec.entries import JournalEntryDraft
from deferredrev.revrec.journal import DraftKeys, truncate
from deferredrev.revrec.periods import Period
from deferredrev.services.actors import Actor
from deferredrev.storage import models
from deferredrev.storage.models import EntryStatus

REQUEST_ID_NAMESPACE = uuid.UUID("6f1c1b0e-8a55-4bd5-9d7e-2d6f0c3a9e41")


def request_id_for(posting_key: str, generation: int = 0) -> str:
    """QBO requestid: deterministic per entry (36 chars); a new generation only after a definitive failure."""
    return str(uuid.uuid5(REQUEST_ID_NAMESPACE, f"{posting_key}#{generation}"))


def entry_rows(
    preview: models.Preview,
    drafts: Iterable[JournalEntryDraft],
    *,
    approver: Actor,
    requester_label: str,
    now: datetime,
) -> list[models.JournalEntry]:
    """``requester_label`` and ``approver.label``: the people as an auditor reads them in QuickBooks."""
    rows = []
    for draft in drafts:
        entry = models.JournalEntry(
            team_id=preview.team_id,
            realm_id=preview.realm_id or "",
            preview_id=preview.id,
            period=str(draft.period),
            posting_key=draft.posting_key,
            request_id=request_id_for(draft.posting_key),
            generation=0,
            doc_number=draft.doc_number,
            txn_date=draft.txn_date,
            currency=draft.currency,
            total_minor=draft.total_debits,
            private_note=draft.private_note(approver.label, requester_label),
            status=EntryStatus.PENDING.value,
            requested_by=preview.requested_by,
            approved_by=approver.user_id,
            slack_channel=preview.slack_channel,
            slack_ts=preview.slack_ts,
            created_at=now,
            updated_at=now,
        )
        entry.lines = [
            models.JournalEntryLine(
                line_no=number,
                contract_id=line.contract_id,
                kind=str(line.kind),
                posting_type=str(line.posting_type),
                account_id=line.account_id,
                account_name=line.account_name,
                amount_minor=line.amount,
                description=line.description,
            )
            for number, line in enumerate(draft.lines)
        ]
        entry.recognitions = [
            models.EntryRecognition(contract_id=r.contract_id, period=str(r.period), amount_minor=r.amount)
            for r in draft.recognitions
        ]
        rows.append(entry)
    return rows


def reversal_rows(
    reversal: models.Preview,
    originals: Sequence[models.JournalEntry],
    period: Period,
    *,
    approver: Actor,
    requester_label: str,
    now: datetime,
) -> list[models.JournalEntry]:
    keys = DraftKeys(reversal.team_id, period, 0, prefix="RV")
    rows = []
    for original in originals:
        key = keys.posting_key(f"reversal:{original.doc_number}")
        entry = models.JournalEntry(
            team_id=original.team_id, realm_id=original.realm_id, preview_id=reversal.id, period=str(period),
            posting_key=key, request_id=request_id_for(key), generation=0, doc_number=keys.doc_number(key),
            txn_date=period.end, currency=original.currency, total_minor=original.total_minor,
            private_note=truncate(f"Reversal of {original.doc_number} (QuickBooks id {original.qbo_id}). "
                                  f"Requested by {requester_label}; approved by {approver.label}. "
                                  f"Posting key: {key}. Original: {original.private_note}"),
            status=EntryStatus.PENDING.value, requested_by=reversal.requested_by, approved_by=approver.user_id,
            slack_channel=reversal.slack_channel, reverses_entry_id=original.id, created_at=now, updated_at=now,
        )  # fmt: skip
        swapped = [
            models.JournalEntryLine(
                line_no=0,
                contract_id=line.contract_id,
                kind=line.kind,
                posting_type="Credit" if line.posting_type == "Debit" else "Debit",
                account_id=line.account_id,
                account_name=line.account_name,
                amount_minor=line.amount_minor,
                description=truncate(f"Reversal of {original.doc_number}: {line.description}"),
            )  # fmt: skip
            for line in original.lines
        ]
        ordered = [
            line for pair in zip(swapped[0::2], swapped[1::2], strict=True) for line in sorted(pair, key=_debit_first)
        ]
        for number, line in enumerate(ordered):
            line.line_no = number
        entry.lines = ordered
        entry.recognitions = [
            models.EntryRecognition(contract_id=r.contract_id, period=r.period, amount_minor=-r.amount_minor)
            for r in original.recognitions
        ]
        rows.append(entry)
    return rows


def _debit_first(line: models.JournalEntryLine) -> int:
    return 0 if line.posting_type == "Debit" else 1
