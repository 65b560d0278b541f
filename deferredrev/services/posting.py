"""The outbox worker: posts approved entries to QuickBooks exactly once, within QuickBooks' rate limits.

Each run claims a few entries of one workspace with a lease (a conditional UPDATE, so replicas never share an
entry), posts them (the batch endpoint, 30 at a time, or one by one) with each entry's persisted ``requestid``,
and records the result. An entry whose previous attempt's outcome is unknown (a timeout, a crash between the QBO
call and our commit, an expired lease) is first looked up in QuickBooks by its DocNumber; only if it is not there
is it sent again, with the same ``requestid``. Definitive refusals (closed books, inactive account, validation)
are recorded with a message the approver can act on and are not retried automatically.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import selectinload

from deferredrev.clock import Clock
from deferredrev.qbo.client import QboClient
from deferredrev.qbo.errors import (
    QboAuthError,
    QboDuplicateDocNumberError,
    QboError,
    QboThrottledError,
    QboTransportError,
    QboValidationError,
)
from deferredrev.qbo.models import BatchItem, JournalEntry, JournalEntryLine, JournalEntryRequest, PostingType
from deferredrev.revrec.money import get_currency, to_decimal
from deferredrev.services.qbo_access import NotConnectedError, QboGateway
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import ConnectionStatus, EntryStatus
from deferredrev.storage.pacing import CallSlots

logger = logging.getLogger(__name__)

BATCH_SIZE = 30
# QuickBooks allows 40 batch calls and 500 requests a minute per company; pacing a little under both leaves room
# for network jitter (requests arriving closer together than they were sent) and for the app's own reads.
BATCH_CALLS_PER_MINUTE = 38
SINGLE_CALLS_PER_MINUTE = 480
LEASE = timedelta(minutes=5)
BATCH_NAMESPACE = uuid.UUID("0b7a4d52-7f0e-4c3f-9a4e-5d1c2e6f8a90")


CLAIM_ATTEMPTS = 5  # claims lost to other replicas in a row before this run leaves the rest to them


class Pacer:
    """Spaces one kind of QuickBooks call evenly, per company, to stay under a per-minute limit. The slots live in
    the database, so replicas posting to the same company share the limit (``time_scale`` shrinks the minute, as
    the sandbox can)."""

    def __init__(self, per_minute: float, *, time_scale: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self.interval = 60.0 / per_minute / time_scale
        self._sleep = sleep

    def wait(self, slots: CallSlots, realm_id: str, kind: str) -> None:
        pause = slots.reserve(realm_id, kind, self.interval) - time.time()
        if pause > 0:
            self._sleep(pause)


@dataclass(frozen=True)
class Claimed:
    id: int
    team_id: str
    realm_id: str
    preview_id: int | None
    in_doubt: bool
    request: JournalEntryRequest
    request_id: str
    posting_key: str
    reverses_entry_id: int | None = None


@dataclass
class Outcomes:
    """What one claim's calls decided, written back in a single transaction."""

    posted: list[tuple[Claimed, JournalEntry]] = field(default_factory=list)
    failed: list[tuple[Claimed, QboError]] = field(default_factory=list)
    released: dict[EntryStatus, list[int]] = field(default_factory=dict)


@dataclass
class WorkReport:
    posted: int = 0
    failed: int = 0
    retry_later: int = 0
    calls: int = 0
    previews: set[int] = field(default_factory=set)


ProgressCallback = Callable[[int], None]


class PostingWorker:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        gateway: QboGateway,
        clock: Clock,
        on_progress: ProgressCallback = lambda preview_id: None,
        on_settled: ProgressCallback = lambda preview_id: None,
        owner: str | None = None,
        batch_size: int = BATCH_SIZE,
        use_batch: bool = True,
        batch_pacer: Pacer | None = None,
        single_pacer: Pacer | None = None,
        lease: timedelta = LEASE,
        progress_every: float = 2.0,
    ) -> None:
        self._sessions = sessions
        self._gateway = gateway
        self._clock = clock
        self._on_progress = on_progress
        self._on_settled = on_settled
        self.owner = owner or f"worker-{uuid.uuid4().hex[:12]}"
        self.batch_size = batch_size
        self.use_batch = use_batch
        self.batch_pacer = batch_pacer or Pacer(BATCH_CALLS_PER_MINUTE)
        self.single_pacer = single_pacer or Pacer(SINGLE_CALLS_PER_MINUTE)
        self._lease = lease
        self._progress_every = progress_every
        self._last_progress: dict[int, float] = {}
        self._multicurrency: dict[str, bool] = {}
        self._run_lock = threading.Lock()
        self._outcomes = Outcomes()
        self._slots = CallSlots(sessions)

    def run(self, *, max_rounds: int | None = None) -> WorkReport:
        """Post until the outbox has nothing claimable left (or ``max_rounds`` claims were processed)."""
        report = WorkReport()
        if not self._run_lock.acquire(blocking=False):
            return report  # this process is already draining the outbox
        try:
            rounds = 0
            tried: set[int] = set()  # an entry is attempted at most once per run; failures wait for the next run
            while max_rounds is None or rounds < max_rounds:
                claimed = self._claim(exclude=tried)
                if not claimed:
                    break
                rounds += 1
                tried.update(c.id for c in claimed)
                self._post(claimed, report)
                self._report_progress({c.preview_id for c in claimed if c.preview_id is not None})
            for preview_id in report.previews:
                self._on_settled(preview_id)
        finally:
            self._run_lock.release()
        return report

    # Claiming ----------------------------------------------------------------------------------------------------

    def _claimable(self, now: datetime) -> object:
        entry = models.JournalEntry
        return or_(
            entry.status.in_([EntryStatus.PENDING.value, EntryStatus.UNKNOWN.value]),
            and_(entry.status == EntryStatus.POSTING.value, entry.lease_until < now),
        )

    def _claim(self, exclude: set[int]) -> list[Claimed]:
        """The next few claimable entries of one company, leased to this worker. When another replica took the same
        candidates a moment earlier, look again rather than stop: there may be more."""
        for _ in range(CLAIM_ATTEMPTS):
            candidates, taken = self._try_claim(exclude)
            if not candidates or taken:
                return self._load(taken)
        return []

    def _try_claim(self, exclude: set[int]) -> tuple[dict[int, str], dict[int, bool]]:
        """(the candidates, those this worker leased with whether each was in doubt)."""
        now = self._clock.now()
        entry = models.JournalEntry
        with self._sessions() as session:
            first = session.execute(
                select(entry.team_id, entry.realm_id)
                # Only while the workspace is connected to the company the entry was approved for: an expired
                # connection pauses posting, and entries for a company no longer connected wait for it to return.
                .join(
                    models.QboConnection,
                    and_(models.QboConnection.team_id == entry.team_id, models.QboConnection.realm_id == entry.realm_id),
                )
                .where(
                    self._claimable(now),  # type: ignore[arg-type]
                    models.QboConnection.status == ConnectionStatus.CONNECTED.value,
                    entry.id.not_in(exclude),
                )
                .order_by(entry.id)
                .limit(1)
            ).first()
            if first is None:
                return {}, {}
            team_id, realm_id = first
            candidates = session.execute(
                select(entry.id, entry.status)
                .where(
                    entry.team_id == team_id,
                    entry.realm_id == realm_id,
                    self._claimable(now),  # type: ignore[arg-type]
                    entry.id.not_in(exclude),
                )
                .order_by(entry.id)
                .limit(self.batch_size)
            ).all()
        if not candidates:
            return {}, {}
        previous: dict[int, str] = {row.id: row.status for row in candidates}
        lease_until = now + self._lease  # also identifies the rows this claim took
        with self._sessions.begin() as session:
            session.execute(
                update(entry)
                .where(entry.id.in_(previous), self._claimable(now))  # type: ignore[arg-type]
                .values(
                    status=EntryStatus.POSTING.value,
                    lease_owner=self.owner,
                    lease_until=lease_until,
                    attempts=entry.attempts + 1,
                    updated_at=now,
                )
                .execution_options(synchronize_session=False)
            )
            taken = session.scalars(
                select(entry.id).where(
                    entry.id.in_(previous), entry.lease_owner == self.owner, entry.lease_until == lease_until
                )
            ).all()
        doubtful = (EntryStatus.UNKNOWN.value, EntryStatus.POSTING.value)
        return previous, {entry_id: previous[entry_id] in doubtful for entry_id in taken}

    def _load(self, claimed_ids: dict[int, bool]) -> list[Claimed]:
        if not claimed_ids:
            return []
        with self._sessions() as session:
            rows = session.scalars(
                select(models.JournalEntry)
                .where(models.JournalEntry.id.in_(claimed_ids))
                .options(selectinload(models.JournalEntry.lines))
                .order_by(models.JournalEntry.id)
            ).all()
            return [
                Claimed(
                    id=row.id,
                    team_id=row.team_id,
                    realm_id=row.realm_id,
                    preview_id=row.preview_id,
                    in_doubt=claimed_ids[row.id],
                    request=_request(row),
                    request_id=row.request_id,
                    posting_key=row.posting_key,
                    reverses_entry_id=row.reverses_entry_id,
                )
                for row in rows
            ]

    # Posting -----------------------------------------------------------------------------------------------------

    def _post(self, claimed: list[Claimed], report: WorkReport) -> None:
        team_id, realm_id = claimed[0].team_id, claimed[0].realm_id
        client = self._gateway.client_for(team_id, realm_id)
        self._outcomes = Outcomes()
        try:
            to_send = self._resolve_in_doubt(client, claimed, report)
            to_send = self._with_currency(client, team_id, to_send)
            if len(to_send) > 1 and self.use_batch:
                self._post_batch(client, to_send, report)
            else:
                for item in to_send:
                    self._post_one(client, item, report)
        except (NotConnectedError, QboAuthError) as error:
            # Still-leased entries go back to the queue; posting resumes once the connection works again.
            logger.warning("posting for team %s paused: %s", team_id, error.__class__.__name__)
            settled = {item.id for item, _ in self._outcomes.posted} | {item.id for item, _ in self._outcomes.failed}
            open_items = [c for c in claimed if c.id not in settled]
            self._release([c.id for c in open_items if not c.in_doubt], EntryStatus.PENDING)
            self._release([c.id for c in open_items if c.in_doubt], EntryStatus.UNKNOWN)
        finally:
            self._flush(self._outcomes, report)

    def _resolve_in_doubt(self, client: QboClient, claimed: list[Claimed], report: WorkReport) -> list[Claimed]:
        """An earlier attempt may have reached QuickBooks: look before sending again."""
        remaining = []
        for item in claimed:
            if not item.in_doubt:
                remaining.append(item)
                continue
            self.single_pacer.wait(self._slots, item.realm_id, "single")
            report.calls += 1
            found = _ours(client.find_journal_entries(item.request.doc_number or ""), item.posting_key)
            if found is not None:
                self._record_posted(item, found, report)
            else:
                remaining.append(item)
        return remaining

    def _with_currency(self, client: QboClient, team_id: str, items: list[Claimed]) -> list[Claimed]:
        if not items:
            return items
        if team_id not in self._multicurrency:
            self._multicurrency[team_id] = client.preferences().multicurrency_enabled
        if self._multicurrency[team_id]:
            return items
        return [_replace_request(item, currency=None) for item in items]

    def _post_batch(self, client: QboClient, items: Sequence[Claimed], report: WorkReport) -> None:
        batch_id = str(uuid.uuid5(BATCH_NAMESPACE, "|".join(item.request_id for item in items)))
        self.batch_pacer.wait(self._slots, items[0].realm_id, "batch")
        report.calls += 1
        try:
            results = client.batch(
                [BatchItem.create_journal_entry(str(item.id), item.request) for item in items], request_id=batch_id
            )
        except QboError as error:
            self._call_failed(items, error, report)
            return
        by_bid = {result.bid: result for result in results}
        for item in items:
            result = by_bid.get(str(item.id))
            if result is not None and result.journal_entry is not None:
                self._record_posted(item, result.journal_entry, report)
            else:
                self._item_failed(client, item, result.error if result is not None else None, report)

    def _post_one(self, client: QboClient, item: Claimed, report: WorkReport) -> None:
        self.single_pacer.wait(self._slots, item.realm_id, "single")
        report.calls += 1
        try:
            created = client.create_journal_entry(item.request, request_id=item.request_id)
        except QboError as error:
            self._item_failed(client, item, error, report)
            return
        self._record_posted(item, created, report)

    def _item_failed(self, client: QboClient, item: Claimed, error: QboError | None, report: WorkReport) -> None:
        if isinstance(error, QboDuplicateDocNumberError):
            found = _ours(client.find_journal_entries(item.request.doc_number or ""), item.posting_key)
            if found is not None:
                self._record_posted(item, found, report)
                return
        if isinstance(error, QboAuthError):
            raise error
        if isinstance(error, QboValidationError) and not isinstance(error, QboThrottledError):
            self._record_failed(item, error, report)
            return
        unknown = error is None or error.outcome_unknown or isinstance(error, QboTransportError)
        self._release([item.id], EntryStatus.UNKNOWN if unknown else EntryStatus.PENDING)
        report.retry_later += 1

    def _call_failed(self, items: Sequence[Claimed], error: QboError, report: WorkReport) -> None:
        if isinstance(error, QboAuthError):
            raise error
        if isinstance(error, QboValidationError):
            for item in items:
                self._record_failed(item, error, report)
            return
        unknown = error.outcome_unknown or isinstance(error, QboTransportError)
        logger.warning("posting call failed (%s); %d entries will be retried", error.__class__.__name__, len(items))
        self._release([item.id for item in items], EntryStatus.UNKNOWN if unknown else EntryStatus.PENDING)
        report.retry_later += len(items)

    # Recording ---------------------------------------------------------------------------------------------------

    def _record_posted(self, item: Claimed, created: JournalEntry, report: WorkReport) -> None:
        self._outcomes.posted.append((item, created))

    def _record_failed(self, item: Claimed, error: QboError, report: WorkReport) -> None:
        self._outcomes.failed.append((item, error))

    def _release(self, entry_ids: Sequence[int], status: EntryStatus) -> None:
        if entry_ids:
            self._outcomes.released.setdefault(status, []).extend(entry_ids)

    def _flush(self, outcomes: Outcomes, report: WorkReport) -> None:
        now = self._clock.now()
        entry = models.JournalEntry
        cleared = {"lease_owner": None, "lease_until": None, "updated_at": now}
        with self._sessions.begin() as session:
            if outcomes.posted:
                session.execute(
                    update(entry),
                    [
                        {"id": item.id, "status": EntryStatus.POSTED.value, "qbo_id": created.id,
                         "qbo_sync_token": created.sync_token, "posted_at": now, "error_code": None,
                         "error_message": None, **cleared}
                        for item, created in outcomes.posted
                    ],
                )  # fmt: skip
                originals = [item.reverses_entry_id for item, _ in outcomes.posted if item.reverses_entry_id is not None]
                if originals:
                    session.execute(
                        update(entry)
                        .where(entry.id.in_(originals))
                        .values(status=EntryStatus.REVERSED.value)
                        .execution_options(synchronize_session=False)
                    )
            if outcomes.failed:
                session.execute(
                    update(entry),
                    [
                        {"id": item.id, "status": EntryStatus.FAILED.value, "error_code": error.code,
                         "error_message": error.user_message[:2000], **cleared}
                        for item, error in outcomes.failed
                    ],
                )  # fmt: skip
            for status, entry_ids in outcomes.released.items():
                session.execute(
                    update(entry)
                    .where(entry.id.in_(entry_ids), entry.lease_owner == self.owner)
                    .values(status=status.value, **cleared)
                    .execution_options(synchronize_session=False)
                )
        report.posted += len(outcomes.posted)
        report.failed += len(outcomes.failed)
        for item, _ in [*outcomes.posted, *outcomes.failed]:
            if item.preview_id is not None:
                report.previews.add(item.preview_id)

    def _report_progress(self, preview_ids: set[int]) -> None:
        now = time.monotonic()
        for preview_id in preview_ids:
            if now - self._last_progress.get(preview_id, 0.0) >= self._progress_every:
                self._last_progress[preview_id] = now
                self._on_progress(preview_id)


def _request(row: models.JournalEntry) -> JournalEntryRequest:
    currency = get_currency(row.currency)
    lines = tuple(
        JournalEntryLine(
            posting_type=PostingType(line.posting_type),
            account_id=line.account_id,
            account_name=line.account_name,
            amount=to_decimal(line.amount_minor, currency),
            description=line.description,
        )
        for line in row.lines
    )
    return JournalEntryRequest(
        doc_number=row.doc_number, txn_date=row.txn_date, private_note=row.private_note, lines=lines, currency=row.currency
    )


def _replace_request(item: Claimed, *, currency: str | None) -> Claimed:
    from dataclasses import replace

    return replace(item, request=replace(item.request, currency=currency))


def _ours(found: Sequence[JournalEntry], posting_key: str) -> JournalEntry | None:
    """The entry in QuickBooks that carries this posting key (the DocNumber alone could be reused by a person)."""
    for entry in found:
        if entry.private_note and posting_key in entry.private_note:
            return entry
    return None
