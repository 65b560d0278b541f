"""The approval trail, as an auditor reads it: each preview's dates, people, totals and entries (with their
QuickBooks ids), one preview's entries page by page, and the workspace's audit log as CSV."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from deferredrev import style
from deferredrev.revrec.csv_contracts import spreadsheet_safe
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import AuditEvent, EntryStatus

ENTRIES_PER_PAGE = 100
LINKED_PER_PREVIEW = 5


@dataclass(frozen=True)
class EntryRow:
    doc: str
    qbo_id: str | None
    status: str
    currency: str
    total_minor: int


@dataclass(frozen=True)
class EntryPage:
    preview_id: int
    period: str
    kind: str
    entries: list[EntryRow]
    page: int
    pages: int
    total: int


def entry_page(sessions: SessionFactory, team_id: str, preview_id: int, page: int = 1) -> EntryPage | None:
    """One page of a preview's entries, scoped to the workspace (None when it isn't this workspace's)."""
    with sessions() as session:
        preview = session.get(models.Preview, preview_id)
        if preview is None or preview.team_id != team_id:
            return None
        total = int(
            session.scalar(select(func.count(models.JournalEntry.id)).where(models.JournalEntry.preview_id == preview_id))
            or 0
        )
        pages = max(1, -(-total // ENTRIES_PER_PAGE))
        page = min(max(page, 1), pages)
        rows = session.execute(
            select(
                models.JournalEntry.doc_number,
                models.JournalEntry.qbo_id,
                models.JournalEntry.status,
                models.JournalEntry.currency,
                models.JournalEntry.total_minor,
            )
            .where(models.JournalEntry.preview_id == preview_id)
            .order_by(models.JournalEntry.id)
            .offset((page - 1) * ENTRIES_PER_PAGE)
            .limit(ENTRIES_PER_PAGE)
        ).all()
        return EntryPage(preview_id, preview.period, preview.kind, [EntryRow(*row) for row in rows], page, pages, total)


def first_entries(sessions: SessionFactory, preview_ids: list[int]) -> dict[int, list[EntryRow]]:
    """The first few posted entries of each preview, for the history's links."""
    found: dict[int, list[EntryRow]] = {preview_id: [] for preview_id in preview_ids}
    if not preview_ids:
        return found
    with sessions() as session:
        rows = session.execute(
            select(
                models.JournalEntry.preview_id,
                models.JournalEntry.doc_number,
                models.JournalEntry.qbo_id,
                models.JournalEntry.status,
                models.JournalEntry.currency,
                models.JournalEntry.total_minor,
            )
            .where(
                models.JournalEntry.preview_id.in_(preview_ids),
                models.JournalEntry.status.in_([EntryStatus.POSTED.value, EntryStatus.REVERSED.value]),
            )
            .order_by(models.JournalEntry.id)
        ).all()
    for preview_id, doc, qbo_id, status, currency, total in rows:
        if preview_id is not None and len(found[preview_id]) < LINKED_PER_PREVIEW:
            found[preview_id].append(EntryRow(doc, qbo_id, status, currency, total))
    return found


def audit_log_csv(sessions: SessionFactory, team_id: str, time_zone: str) -> str:
    """Every audit event of the workspace, oldest first: when (UTC, and in the workspace's time zone), what, who,
    and the details recorded with it."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["when_utc", "when_local", "action", "actor", "subject", "details"])
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.team_id == team_id).order_by(AuditEvent.id))
        for event in events:
            writer.writerow([
                _utc(event.created_at), style.when(event.created_at, time_zone), event.action,
                spreadsheet_safe(event.actor or ""), spreadsheet_safe(event.subject or ""),
                spreadsheet_safe(json.dumps(_plain(event.details), sort_keys=True, default=str)),
            ])  # fmt: skip
    return out.getvalue()


def _utc(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _plain(details: Any) -> Any:
    return details if isinstance(details, dict) else {}
