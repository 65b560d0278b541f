"""Reversing a posting is a posting. An approver asks for it; DeferredRev shows it as a preview (the entries it would
post, and the month they are dated in); an approver approves it like any preview (four-eyes applies) and only then
are the reversing entries queued. Posted entries are never edited: each reversing entry swaps the original's sides.

The reversal is dated in the original month when QuickBooks still has it open, else in the current month. That date
needs QuickBooks' close date: when it can't be read the request (or the approval) is refused with "try again", never
guessed, because a reversal queued in a closed month could never post and its date can't change afterwards.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from deferredrev.clock import Clock
from deferredrev.qbo.errors import QboError
from deferredrev.revrec.periods import Period
from deferredrev.services.actors import Actor
from deferredrev.services.decisions import Decision, DecisionResult, already_decided, serialize_postings
from deferredrev.services.evidence import queue_evidence
from deferredrev.services.outbox import reversal_rows
from deferredrev.services.qbo_access import NotConnectedError, QboGateway
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import EntryStatus, PreviewStatus
from deferredrev.storage.repositories import audit
from deferredrev.style import person

# A reversal that isn't rejected or stale stands for the original: it is waiting, queued, posted or failed.
STANDING = (PreviewStatus.OPEN.value, PreviewStatus.APPROVED.value, PreviewStatus.POSTED.value, PreviewStatus.FAILED.value)


class CloseDateUnknownError(Exception):
    """QuickBooks' close date couldn't be read, so the reversal can't be dated."""


class Reversals:
    def __init__(self, *, sessions: SessionFactory, gateway: QboGateway, clock: Clock) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._clock = clock

    def request(self, original: models.Preview, actor: Actor, *, channel_id: str | None) -> DecisionResult:
        """A reversal preview for what ``original`` posted, waiting for approval."""
        if original.kind != "recognition":
            return DecisionResult(
                Decision.NOTHING, "A reversal can't be reversed; post the period again instead.", original.id
            )
        try:
            period = self._reversal_period(original)
        except CloseDateUnknownError:
            return _close_date_unknown(original.id)
        now = self._clock.now()
        with self._sessions.begin() as session:
            serialize_postings(session, original.team_id)
            if (standing := _standing_reversal(session, original.id)) is not None:
                return _already_reversing(standing, original.id)
            posted = _posted_entries(session, original.id)
            if not posted:
                return DecisionResult(
                    Decision.NOTHING, "Nothing from this preview is posted, so there is nothing to reverse.", original.id
                )
            reversal = models.Preview(
                team_id=original.team_id, realm_id=original.realm_id, period=str(period),
                posting_mode=original.posting_mode, fingerprint=_fingerprint(posted), status=PreviewStatus.OPEN.value,
                requested_by=actor.user_id, slack_channel=channel_id or original.slack_channel, revision=0,
                kind="reversal", reverses_preview_id=original.id, created_at=now,
                summary=_summary(original, period, posted) | {"requested_by_name": actor.name},
            )  # fmt: skip
            session.add(reversal)
            session.flush()
            audit(session, action="reversal.requested", now=now, team_id=original.team_id, actor=actor.user_id,
                  preview_id=original.id, reversal_preview_id=reversal.id, entries=len(posted))  # fmt: skip
            reversal_id = reversal.id
        return DecisionResult(
            Decision.REQUESTED,
            f"Reversal of {len(posted)} entries requested, dated {period.end:%Y-%m-%d}: it needs an approver's OK in "
            "the channel before anything reaches QuickBooks.",
            reversal_id,
            len(posted),
        )

    def approve(self, reversal: models.Preview, actor: Actor) -> DecisionResult:
        """Queue the reversing entries, if the original's posted entries and the reversal's date are still what the
        reversal preview showed. The caller has checked the approver (role, four-eyes) and that it is open."""
        original_id = reversal.reverses_preview_id
        assert original_id is not None
        with self._sessions() as session:
            original = session.get(models.Preview, original_id)
        assert original is not None and original.team_id == reversal.team_id
        try:
            period = self._reversal_period(original)
        except CloseDateUnknownError:
            return _close_date_unknown(reversal.id)
        now = self._clock.now()
        with self._sessions.begin() as session:
            serialize_postings(session, reversal.team_id)
            current = session.get(models.Preview, reversal.id)
            if current is None or current.status != PreviewStatus.OPEN.value:
                return already_decided(current, reversal.id)
            posted = _posted_entries(session, original_id)
            other = _standing_reversal(session, original_id, besides=reversal.id)
            if str(period) != reversal.period or _fingerprint(posted) != reversal.fingerprint or other is not None:
                return self._stale(session, reversal, actor, now)
            moved = session.execute(
                update(models.Preview)
                .where(models.Preview.id == reversal.id, models.Preview.status == PreviewStatus.OPEN.value)
                .values(status=PreviewStatus.APPROVED.value, decided_by=actor.user_id, decided_at=now)
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return already_decided(session.get(models.Preview, reversal.id), reversal.id)
            current.summary = {**(current.summary or {}), "decided_by_name": actor.name}  # for what auditors read
            requester = person(reversal.requested_by, (reversal.summary or {}).get("requested_by_name"))
            rows = reversal_rows(current, posted, period, approver=actor, requester_label=requester, now=now)
            session.add_all(rows)
            queue_evidence(session, rows, tie_out=None, now=now)
            audit(session, action="entries.reversal_queued", now=now, team_id=reversal.team_id, actor=actor.user_id,
                  preview_id=original_id, reversal_preview_id=reversal.id, entries=len(rows))  # fmt: skip
        return DecisionResult(
            Decision.APPROVED, f"Approved: reversing {len(rows)} entries in {period.label}.", reversal.id, len(rows)
        )

    def _stale(self, session: Session, reversal: models.Preview, actor: Actor, now: Any) -> DecisionResult:
        session.execute(
            update(models.Preview)
            .where(models.Preview.id == reversal.id, models.Preview.status == PreviewStatus.OPEN.value)
            .values(status=PreviewStatus.STALE.value)
            .execution_options(synchronize_session=False)
        )
        audit(session, action="preview.stale", now=now, team_id=reversal.team_id, actor=actor.user_id,
              preview_id=reversal.id)  # fmt: skip
        return DecisionResult(
            Decision.STALE,
            "What this reversal would undo, or the month it would be dated in, changed since it was asked for, so "
            "nothing was queued. Refresh it to see the reversal as it stands now.",
            reversal.id,
        )

    def _reversal_period(self, original: models.Preview) -> Period:
        """The original's month if QuickBooks still has it open, else the current month."""
        period = Period.parse(original.period)
        if not original.realm_id:
            return period
        close = self._close_date(original)
        if close is not None and period.end <= close:
            return Period.of(self._clock.now().date())
        return period

    def _close_date(self, original: models.Preview) -> date | None:
        assert original.realm_id is not None
        try:
            return self._gateway.client_for(original.team_id, original.realm_id).preferences().book_close_date
        except (QboError, NotConnectedError) as error:
            raise CloseDateUnknownError from error


def _posted_entries(session: Session, preview_id: int) -> Sequence[models.JournalEntry]:
    return session.scalars(
        select(models.JournalEntry)
        .where(models.JournalEntry.preview_id == preview_id, models.JournalEntry.status == EntryStatus.POSTED.value)
        .order_by(models.JournalEntry.id)
    ).all()


def _standing_reversal(session: Session, original_id: int, *, besides: int | None = None) -> models.Preview | None:
    query = select(models.Preview).where(
        models.Preview.reverses_preview_id == original_id, models.Preview.status.in_(STANDING)
    )
    if besides is not None:
        query = query.where(models.Preview.id != besides)
    return session.scalars(query.order_by(models.Preview.id).limit(1)).first()


def _already_reversing(standing: models.Preview, original_id: int) -> DecisionResult:
    waiting = standing.status == PreviewStatus.OPEN.value
    message = (
        f"A reversal of this posting is already waiting for approval (preview #{standing.id}). Nothing changed."
        if waiting
        else "This posting was already reversed. Nothing changed."
    )
    return DecisionResult(Decision.ALREADY_DECIDED, message, original_id)


def _close_date_unknown(preview_id: int) -> DecisionResult:
    return DecisionResult(
        Decision.BLOCKED,
        "I couldn't read QuickBooks' close date, which decides the month the reversal is dated in, so nothing was "
        "queued. Try again in a moment.",
        preview_id,
    )


def _fingerprint(posted: Sequence[models.JournalEntry]) -> str:
    """What the reversal undoes: the posted entries, by id, QuickBooks id and amount."""
    digest = hashlib.sha256()
    for entry in posted:
        digest.update(f"{entry.id}|{entry.qbo_id}|{entry.currency}|{entry.total_minor};".encode())
    return digest.hexdigest()


def _summary(original: models.Preview, period: Period, posted: Sequence[models.JournalEntry]) -> dict[str, Any]:
    content = dict(original.summary or {})
    return {
        **content,
        "period": str(period),
        "period_label": period.label,
        "reverses": original.period,
        "reverses_preview_id": original.id,
        "entry_count": len(posted),
        "warnings": [],
        "blocking": [],
        "can_post": True,
    }
