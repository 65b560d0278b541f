"""Evidence in QuickBooks: every posted journal entry gets exactly one attachment, the outbox step after the entry's.

An entry's evidence row is queued in the same transaction as the entry (:func:`queue_evidence`), with what the
approval was based on frozen in it (the contracts' terms, the tie-out shown with the preview). Once the entry is
posted, :class:`EvidenceWorker` renders the file (:mod:`deferredrev.services.evidence_record`), stores it, and uploads
it linked to the entry (``POST /upload``). Its guarantees are the posting worker's, for its own row:

- **Never blocking the entry.** Only posted entries are attached, after the entry's own outbox step recorded them;
  nothing about the entry waits for its evidence, and a failed attachment never changes the entry.
- **Never twice.** The row is leased with a conditional UPDATE (the fencing token is ``lease_owner`` with
  ``lease_until``); the lease is renewed right before the upload, and a heartbeat renews it while QuickBooks makes the
  call wait. The upload carries the row's ``request_id`` and always the same bytes (rendered once, stored before the
  first attempt), so a repeat is answered with the first answer. An upload whose outcome is unknown (a timeout, a
  crash between QuickBooks' answer and our commit, a lapsed lease) leaves the row in doubt: before anything is sent
  again the entry's attachments are looked up (``Attachable`` query) and one carrying this entry's posting key in its
  note is recorded as the evidence. A success is always recorded, onto a row not recorded as attached yet.
- **Retried on failure.** Throttling, server errors and lost connections are tried again later, with backoff, up to
  :data:`MAX_ATTEMPTS` attempts; a refusal (QuickBooks says the file or the link is invalid) is recorded as failed at
  once with its reason. Either way the preview's message shows it.
- **Within QuickBooks' limits.** Every call takes a slot of the company's one-by-one budget, shared with the posting
  worker and with other replicas (:class:`~deferredrev.storage.pacing.CallSlots`).
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.orm import Session, selectinload

from deferredrev.clock import Clock
from deferredrev.qbo.attachments import AttachmentUpload
from deferredrev.qbo.client import QboClient
from deferredrev.qbo.errors import QboAuthError, QboError, QboThrottledError, QboTransportError, QboValidationError
from deferredrev.services import evidence_record
from deferredrev.services.contracts import to_contract
from deferredrev.services.posting import SINGLE_CALLS_PER_MINUTE, Heartbeat, Pacer
from deferredrev.services.qbo_access import NotConnectedError, QboGateway
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import ConnectionStatus, EntryStatus, EvidenceStatus
from deferredrev.storage.pacing import CallSlots
from deferredrev.style import person

logger = logging.getLogger(__name__)

EVIDENCE_NAMESPACE = uuid.UUID("3c9a51e4-0d2b-4f7e-8a6d-5b1f2e7c9d40")
LEASE = timedelta(minutes=5)
RENEW_EVERY = LEASE.total_seconds() / 5
CLAIM_SIZE = 10
MAX_ATTEMPTS = 8
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_CAP = timedelta(hours=1)
ATTACHABLE_ENTRIES = (EntryStatus.POSTED.value, EntryStatus.REVERSED.value)


class MessageLinks(Protocol):
    """Where services get a link to a Slack message (the bot implements it with ``chat.getPermalink``)."""

    def message_link(self, team_id: str, channel_id: str, ts: str) -> str | None:
        """The message's permalink, or None when Slack can't give one (never raises)."""
        ...


def request_id_for(posting_key: str) -> str:
    """The upload's QBO requestid: deterministic per entry (36 chars)."""
    return str(uuid.uuid5(EVIDENCE_NAMESPACE, posting_key))


def queue_evidence(
    session: Session, entries: Sequence[models.JournalEntry], *, tie_out: Mapping[str, Any] | None, now: datetime
) -> None:
    """Give each new entry its evidence row, in the caller's transaction, freezing the approval's basis: the terms of
    the entry's contracts as they are now, and the tie-out shown with the preview."""
    if not entries:
        return
    team_id = entries[0].team_id
    named = sorted({line.contract_id for entry in entries for line in entry.lines})
    terms: dict[str, dict[str, Any]] = {}
    for start in range(0, len(named), 500):
        rows = session.scalars(
            select(models.Contract).where(
                models.Contract.team_id == team_id, models.Contract.contract_id.in_(named[start : start + 500])
            )
        )
        terms.update({row.contract_id: evidence_record.contract_terms(to_contract(row)) for row in rows})
    for entry in entries:
        on_entry = sorted({line.contract_id for line in entry.lines})
        entry.evidence = models.EntryEvidence(
            team_id=entry.team_id,
            realm_id=entry.realm_id,
            status=EvidenceStatus.PENDING.value,
            request_id=request_id_for(entry.posting_key),
            facts={"contracts": [terms[c] for c in on_entry if c in terms], "tie_out": dict(tie_out) if tie_out else None},
            attempts=0,
            created_at=now,
            updated_at=now,
        )


def evidence_summary(session: Session, preview_id: int) -> dict[str, Any]:
    """For a preview's message: how many of its posted entries have their evidence attached, are waiting, failed
    (with the reasons)."""
    evidence, entry = models.EntryEvidence, models.JournalEntry
    counts = dict(
        session.execute(
            select(evidence.status, func.count(evidence.id))
            .join(entry, entry.id == evidence.entry_id)
            .where(entry.preview_id == preview_id, entry.status.in_(ATTACHABLE_ENTRIES))
            .group_by(evidence.status)
        ).all()
    )
    failures = session.execute(
        select(evidence.error_message, func.count(evidence.id))
        .join(entry, entry.id == evidence.entry_id)
        .where(entry.preview_id == preview_id, evidence.status == EvidenceStatus.FAILED.value)
        .group_by(evidence.error_message)
    ).all()
    attached = int(counts.get(EvidenceStatus.ATTACHED.value, 0))
    failed = int(counts.get(EvidenceStatus.FAILED.value, 0))
    return {
        "attached": attached,
        "failed": failed,
        "waiting": sum(int(n) for n in counts.values()) - attached - failed,
        "failures": [{"message": message or "Unknown error", "count": int(n)} for message, n in failures],
    }


@dataclass(frozen=True)
class _Claimed:
    id: int
    team_id: str
    realm_id: str
    entry_id: int
    preview_id: int | None
    qbo_id: str
    posting_key: str
    request_id: str
    in_doubt: bool
    attempts: int
    lease_until: datetime  # with the worker's owner name, the claim's fencing token


@dataclass
class EvidenceReport:
    attached: int = 0
    failed: int = 0
    retry_later: int = 0
    calls: int = 0
    previews: set[int] = field(default_factory=set)


class _Fence:
    """This worker's hold on one evidence row: renewals match the fencing token and the ATTACHING status."""

    def __init__(self, sessions: SessionFactory, clock: Clock, owner: str, row_id: int, until: datetime, length: timedelta):
        self._sessions, self._clock, self._owner, self._id, self._length = sessions, clock, owner, row_id, length
        self._until: datetime | None = until
        self._lock = threading.Lock()

    def holding(self) -> ColumnElement[bool]:
        row = models.EntryEvidence
        with self._lock:
            until = self._until
        if until is None:
            return and_(row.id == self._id, row.id != self._id)  # held no more: matches nothing
        return and_(
            row.id == self._id,
            row.lease_owner == self._owner,
            row.lease_until == until,
            row.status == EvidenceStatus.ATTACHING.value,
        )

    def renew(self) -> bool:
        with self._lock:
            if self._until is None:
                return False
            until = max(self._clock.now() + self._length, self._until)
            row = models.EntryEvidence
            with self._sessions.begin() as session:
                kept = session.execute(
                    update(row)
                    .where(row.id == self._id, row.lease_owner == self._owner, row.lease_until == self._until,
                           row.status == EvidenceStatus.ATTACHING.value)
                    .values(lease_until=until, updated_at=self._clock.now())
                    .returning(row.id)
                    .execution_options(synchronize_session=False)
                ).first()  # fmt: skip
            self._until = until if kept is not None else None
            if kept is None:
                logger.warning("evidence %s was taken over by another worker or settled; not sending it", self._id)
            return kept is not None


class EvidenceWorker:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        gateway: QboGateway,
        clock: Clock,
        links: MessageLinks | None = None,
        on_progress: Callable[[int], None] = lambda preview_id: None,
        owner: str | None = None,
        pacer: Pacer | None = None,
        lease: timedelta = LEASE,
        renew_every: float = RENEW_EVERY,
        claim_size: int = CLAIM_SIZE,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._clock = clock
        self._links = links
        self._on_progress = on_progress
        self.owner = owner or f"evidence-{uuid.uuid4().hex[:12]}"
        self.pacer = pacer or Pacer(SINGLE_CALLS_PER_MINUTE)
        self._lease = lease
        self._renew_every = renew_every
        self._claim_size = claim_size
        self._slots = CallSlots(sessions)
        self._run_lock = threading.Lock()

    def run(self, *, max_rounds: int | None = None) -> EvidenceReport:
        """Attach until nothing is claimable (or ``max_rounds`` claims were processed)."""
        report = EvidenceReport()
        if not self._run_lock.acquire(blocking=False):
            return report
        try:
            paused: set[str] = set()  # workspaces whose connection failed during this run
            tried: set[int] = set()
            rounds = 0
            while max_rounds is None or rounds < max_rounds:
                claimed = self._claim(tried, paused)
                if not claimed:
                    break
                rounds += 1
                tried.update(item.id for item in claimed)
                self._attach_all(claimed, report, paused)
            for preview_id in sorted(report.previews):
                self._on_progress(preview_id)
        finally:
            self._run_lock.release()
        return report

    # Claiming ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _in_doubt(now: datetime) -> ColumnElement[bool]:
        row = models.EntryEvidence
        return or_(
            row.status == EvidenceStatus.UNKNOWN.value,
            and_(row.status == EvidenceStatus.ATTACHING.value, row.lease_until < now),
        )

    def _due(self, now: datetime) -> ColumnElement[bool]:
        row = models.EntryEvidence
        return and_(
            or_(row.status == EvidenceStatus.PENDING.value, self._in_doubt(now)),
            or_(row.next_attempt_at.is_(None), row.next_attempt_at <= now),
        )

    def _claim(self, exclude: set[int], paused: set[str]) -> list[_Claimed]:
        """The next few due evidence rows of one company, leased to this worker (in doubt or not, as the UPDATE that
        took each decided). Rows another worker took a moment earlier are passed over."""
        while True:
            found, claimed = self._try_claim(exclude, paused)
            if claimed or not found:
                return claimed

    def _try_claim(self, exclude: set[int], paused: set[str]) -> tuple[bool, list[_Claimed]]:
        now = self._clock.now()
        row, entry, connection = models.EntryEvidence, models.JournalEntry, models.QboConnection
        with self._sessions() as session:
            candidates = session.execute(
                select(row.id, row.team_id, row.realm_id)
                .join(entry, entry.id == row.entry_id)
                .join(connection, and_(connection.team_id == row.team_id, connection.realm_id == row.realm_id))
                .where(
                    self._due(now),
                    entry.status.in_(ATTACHABLE_ENTRIES),
                    entry.qbo_id.is_not(None),
                    connection.status == ConnectionStatus.CONNECTED.value,
                    row.id.not_in(exclude),
                    row.team_id.not_in(paused),
                )
                .order_by(row.id)
                .limit(self._claim_size * 4)
            ).all()
        if not candidates:
            return False, []
        team_id, realm_id = candidates[0].team_id, candidates[0].realm_id
        ids = [c.id for c in candidates if c.team_id == team_id and c.realm_id == realm_id][: self._claim_size]
        until = now + self._lease
        lease = {"status": EvidenceStatus.ATTACHING.value, "lease_owner": self.owner, "lease_until": until,
                 "attempts": row.attempts + 1, "updated_at": now}  # fmt: skip
        with self._sessions.begin() as session:
            fresh = session.scalars(
                update(row).where(row.id.in_(ids), row.status == EvidenceStatus.PENDING.value, self._due(now))
                .values(**lease).returning(row.id).execution_options(synchronize_session=False)
            ).all()  # fmt: skip
            doubtful = session.scalars(
                update(row).where(row.id.in_(ids), self._in_doubt(now), self._due(now))
                .values(**lease).returning(row.id).execution_options(synchronize_session=False)
            ).all()  # fmt: skip
            taken = {**dict.fromkeys(fresh, False), **dict.fromkeys(doubtful, True)}
            rows = session.execute(
                select(row.id, row.entry_id, row.request_id, row.attempts, entry.preview_id, entry.qbo_id,
                       entry.posting_key)
                .join(entry, entry.id == row.entry_id)
                .where(row.id.in_(list(taken)))
                .order_by(row.id)
            ).all()  # fmt: skip
        exclude.update(ids)
        return True, [
            _Claimed(
                id=r.id,
                team_id=team_id,
                realm_id=realm_id,
                entry_id=r.entry_id,
                preview_id=r.preview_id,
                qbo_id=str(r.qbo_id),
                posting_key=r.posting_key,
                request_id=r.request_id,
                in_doubt=taken[r.id],
                attempts=r.attempts,
                lease_until=until,
            )  # fmt: skip
            for r in rows
        ]

    # Attaching ---------------------------------------------------------------------------------------------------

    def _attach_all(self, claimed: list[_Claimed], report: EvidenceReport, paused: set[str]) -> None:
        client = self._gateway.client_for(claimed[0].team_id, claimed[0].realm_id)
        for position, item in enumerate(claimed):
            fence = _Fence(self._sessions, self._clock, self.owner, item.id, item.lease_until, self._lease)
            heartbeat = Heartbeat(fence.renew, self._renew_every, name="evidence-lease")
            try:
                self._attach(client, item, fence, report)
            except (NotConnectedError, QboAuthError) as error:
                logger.warning("evidence for team %s paused: %s", item.team_id, error.__class__.__name__)
                paused.add(item.team_id)
                self._release(fence, item, in_doubt=item.in_doubt or getattr(error, "outcome_unknown", False))
                for rest in claimed[position + 1 :]:
                    rest_fence = _Fence(self._sessions, self._clock, self.owner, rest.id, rest.lease_until, self._lease)
                    self._release(rest_fence, rest, in_doubt=rest.in_doubt)
                return
            finally:
                heartbeat.stop()

    def _attach(self, client: QboClient, item: _Claimed, fence: _Fence, report: EvidenceReport) -> None:
        upload = self._upload_for(item, fence)
        if upload is None:
            return  # no longer held
        if item.in_doubt:
            self.pacer.wait(self._slots, item.realm_id, "single")
            report.calls += 1
            try:
                found = [a for a in client.attachables_for("JournalEntry", item.qbo_id)
                         if a.note is not None and item.posting_key in a.note]  # fmt: skip
            except QboAuthError:
                raise
            except QboError as error:
                self._retry_later(fence, item, error, in_doubt=True, report=report)
                return
            if found:
                self._record_attached(item, found[0].id, report)
                return
        self.pacer.wait(self._slots, item.realm_id, "single")
        if not fence.renew():
            return
        report.calls += 1
        try:
            attached = client.upload_attachment(upload, request_id=item.request_id)
        except QboAuthError:
            raise
        except QboValidationError as error:
            if isinstance(error, QboThrottledError):
                self._retry_later(fence, item, error, in_doubt=False, report=report)
            else:
                self._record_failed(fence, item, error.code, _refused(error), report)
            return
        except QboError as error:
            unknown = error.outcome_unknown or isinstance(error, QboTransportError)
            self._retry_later(fence, item, error, in_doubt=unknown, report=report)
            return
        self._record_attached(item, attached.id, report)

    def _upload_for(self, item: _Claimed, fence: _Fence) -> AttachmentUpload | None:
        """The file for this entry: rendered and stored on the first attempt (while held), the same bytes after."""
        with self._sessions() as session:
            row = session.get(models.EntryEvidence, item.id)
            if row is None:
                return None
            content, name = row.content, row.file_name
            inputs = self._inputs(session, row) if content is None or name is None else None
        if inputs is not None:
            link = self._message_link(item.team_id, inputs)
            content = evidence_record.render(replace(inputs, message_link=link))
            name = evidence_record.file_name(inputs.doc_number)
            with self._sessions.begin() as session:
                stored = session.execute(
                    update(models.EntryEvidence).where(fence.holding(), models.EntryEvidence.content.is_(None))
                    .values(content=content, file_name=name, updated_at=self._clock.now()).returning(models.EntryEvidence.id)
                    .execution_options(synchronize_session=False)
                ).first()  # fmt: skip
                if stored is None:  # held no more, or another worker stored it first: use what is stored
                    current = session.get(models.EntryEvidence, item.id)
                    if current is None or current.content is None or current.file_name is None:
                        return None
                    content, name = current.content, current.file_name
        assert content is not None and name is not None
        return AttachmentUpload(
            file_name=name,
            content=content,
            content_type=evidence_record.CONTENT_TYPE,
            entity_type="JournalEntry",
            entity_id=item.qbo_id,
            note=evidence_record.note(item.posting_key),
        )

    def _message_link(self, team_id: str, inputs: evidence_record.EvidenceInputs) -> str | None:
        if self._links is None or not inputs.channel or not inputs.message_ts:
            return None
        return self._links.message_link(team_id, inputs.channel, inputs.message_ts)

    def _inputs(self, session: Session, row: models.EntryEvidence) -> evidence_record.EvidenceInputs:
        entry = session.scalars(
            select(models.JournalEntry)
            .where(models.JournalEntry.id == row.entry_id)
            .options(selectinload(models.JournalEntry.lines), selectinload(models.JournalEntry.recognitions))
        ).one()
        preview = session.get(models.Preview, entry.preview_id) if entry.preview_id is not None else None
        original = session.get(models.JournalEntry, entry.reverses_entry_id) if entry.reverses_entry_id else None
        channel = (preview.slack_channel if preview else None) or entry.slack_channel
        ts = (preview.slack_ts if preview else None) or entry.slack_ts
        facts = row.facts or {}
        return evidence_record.EvidenceInputs(
            doc_number=entry.doc_number,
            posting_key=entry.posting_key,
            period=entry.period,
            txn_date=entry.txn_date,
            currency=entry.currency,
            kind="reversal" if entry.reverses_entry_id is not None else "recognition",
            qbo_id=entry.qbo_id,
            preview_id=entry.preview_id,
            requested_by=person(entry.requested_by, (preview.summary or {}).get("requested_by_name") if preview else None),
            previewed_at=preview.created_at if preview else None,
            approved_by=person(entry.approved_by, (preview.summary or {}).get("decided_by_name") if preview else None),
            approved_at=(preview.decided_at if preview and preview.decided_at else entry.created_at),
            channel=channel,
            message_ts=ts,
            message_link=None,
            lines=[
                evidence_record.EvidenceLine(
                    line.line_no,
                    line.contract_id,
                    line.kind,
                    line.posting_type,
                    line.account_id,
                    line.account_name,
                    line.amount_minor,
                    line.description,
                )
                for line in entry.lines
            ],  # fmt: skip
            recognitions=[(r.contract_id, r.period, r.amount_minor) for r in entry.recognitions],
            contracts=list(facts.get("contracts") or ()),
            tie_out=facts.get("tie_out"),
            reverses=f"{original.doc_number} (QuickBooks id {original.qbo_id})" if original is not None else None,
        )

    # Recording ---------------------------------------------------------------------------------------------------

    def _record_attached(self, item: _Claimed, attachable_id: str, report: EvidenceReport) -> None:
        """A fact about QuickBooks: recorded whoever holds the row now, unless it is recorded as attached already."""
        now = self._clock.now()
        row = models.EntryEvidence
        with self._sessions.begin() as session:
            recorded = session.execute(
                update(row).where(row.id == item.id, row.status != EvidenceStatus.ATTACHED.value)
                .values(status=EvidenceStatus.ATTACHED.value, attachable_id=attachable_id, attached_at=now,
                        error_code=None, error_message=None, next_attempt_at=None, lease_owner=None,
                        lease_until=None, updated_at=now)
                .returning(row.id).execution_options(synchronize_session=False)
            ).first()  # fmt: skip
            if recorded is None:
                known = session.scalar(select(row.attachable_id).where(row.id == item.id))
                if known != attachable_id:
                    logger.error("entry %s has two evidence attachments in QuickBooks (%s and %s); delete one",
                                 item.entry_id, known, attachable_id)  # fmt: skip
                return
        report.attached += 1
        self._touched(item, report)

    def _record_failed(self, fence: _Fence, item: _Claimed, code: str | None, message: str, report: EvidenceReport) -> None:
        now = self._clock.now()
        with self._sessions.begin() as session:
            recorded = session.execute(
                update(models.EntryEvidence).where(fence.holding())
                .values(status=EvidenceStatus.FAILED.value, error_code=(code or "")[:16] or None,
                        error_message=message[:2000], lease_owner=None, lease_until=None, updated_at=now)
                .returning(models.EntryEvidence.id).execution_options(synchronize_session=False)
            ).first()  # fmt: skip
        if recorded is not None:
            logger.warning("evidence for entry %s failed: %s", item.entry_id, code or "-")
            report.failed += 1
            self._touched(item, report)

    def _retry_later(
        self, fence: _Fence, item: _Claimed, error: QboError, *, in_doubt: bool, report: EvidenceReport
    ) -> None:
        if item.attempts >= MAX_ATTEMPTS:
            message = (
                f"QuickBooks didn't take the evidence file after {item.attempts} attempts ({error.user_message}). "
                "The entry itself is posted; attach the file again later."
            )
            if in_doubt:  # it may be there after all: look once more before giving up on it
                self._release(fence, item, in_doubt=True, delay=BACKOFF_CAP)
                report.retry_later += 1
                return
            self._record_failed(fence, item, error.code, message, report)
            return
        delay = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, item.attempts - 1))
        logger.warning("evidence for entry %s: %s; trying again in %s", item.entry_id, error.__class__.__name__, delay)
        self._release(fence, item, in_doubt=in_doubt, delay=delay)
        report.retry_later += 1

    def _release(self, fence: _Fence, item: _Claimed, *, in_doubt: bool, delay: timedelta | None = None) -> None:
        now = self._clock.now()
        status = EvidenceStatus.UNKNOWN if in_doubt else EvidenceStatus.PENDING
        with self._sessions.begin() as session:
            session.execute(
                update(models.EntryEvidence).where(fence.holding())
                .values(status=status.value, lease_owner=None, lease_until=None, updated_at=now,
                        next_attempt_at=now + delay if delay is not None else None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip

    def _touched(self, item: _Claimed, report: EvidenceReport) -> None:
        if item.preview_id is not None:
            report.previews.add(item.preview_id)


def _refused(error: QboError) -> str:
    return f"QuickBooks refused the evidence file: {error.user_message}. The entry itself is posted; nothing else changed."
