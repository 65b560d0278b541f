"""The outbox worker: posts approved entries to QuickBooks exactly once, within QuickBooks' rate limits.

Each run claims a few entries of one workspace with a lease (a conditional UPDATE, so replicas never share an
entry), posts them (the batch endpoint, 30 at a time, or one by one) with each entry's persisted ``requestid``,
and records the result. An entry whose previous attempt's outcome is unknown (a timeout, a crash between the QBO
call and our commit, an expired lease) is first looked up in QuickBooks by its DocNumber; only if it is not there
is it sent again, with the same ``requestid``. Definitive refusals (closed books, inactive account, validation)
are recorded with a message the approver can act on and are not retried automatically.

The lease is what keeps two workers from sending the same entry, so it is kept and checked (the fencing token is
the pair ``lease_owner``, ``lease_until``):

- while a claim is being posted a heartbeat renews the lease, so a live worker keeps it however long QuickBooks
  makes it wait (a throttled call can retry for minutes); only a dead or stalled worker's lease lapses;
- right before each create call the worker renews the lease once more and sends only the entries it still holds:
  a worker that stalled past its lease sends nothing for entries another worker has taken over;
- failures and releases are recorded only while holding the lease. A success is a fact about QuickBooks and is
  always recorded, but only onto an entry not yet posted: a late answer and another worker's DocNumber lookup
  converge on one POSTED row, and a second QuickBooks entry (which this design should never create) is logged;
- whether a taken entry is in doubt is decided by the UPDATE that takes it (an entry taken after another worker's
  lease on it lapsed is always in doubt). Each entry records the requestid of the batch it goes in before the batch
  is sent, and in-doubt entries go again under that same requestid (those never sent in a batch, one by one under
  their own): if the stalled worker's call is still on its way, QuickBooks answers one of the two with the other's
  result.

An entry that cannot be built into a QuickBooks request (an amount QuickBooks refuses, say) is recorded as failed
with the reason, instead of failing the run and being claimed again forever.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, false, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

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
RENEW_EVERY = LEASE.total_seconds() / 5  # seconds between renewals of the lease while its entries are being posted
BATCH_NAMESPACE = uuid.UUID("0b7a4d52-7f0e-4c3f-9a4e-5d1c2e6f8a90")


CLAIM_ATTEMPTS = 5  # claims lost to other replicas in a row before this run leaves the rest to them
UNBUILDABLE = "unbuildable"  # error_code of an entry no QuickBooks request could be built from


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
    lease_until: datetime  # with this worker's owner name, the claim's fencing token
    reverses_entry_id: int | None = None
    last_batch: str | None = None  # for an entry in doubt: the requestid of the batch it was last sent in, if any


@dataclass(frozen=True)
class _Taken:
    in_doubt: bool
    last_batch: str | None


class _Lease:
    """This worker's hold on one claim's entries. Every renewal matches the fencing token (owner and
    ``lease_until``) and the POSTING status, so once another worker has taken an entry over, or its result was
    recorded, it is no longer held here. Thread-safe: the heartbeat renews while the worker waits on QuickBooks."""

    def __init__(
        self, *, sessions: SessionFactory, clock: Clock, owner: str, length: timedelta, until: datetime, ids: list[int]
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._owner = owner
        self._length = length
        self._until = until
        self._held = frozenset(ids)
        self._lock = threading.Lock()

    @property
    def until(self) -> datetime:
        with self._lock:
            return self._until

    def holding(self) -> ColumnElement[bool]:
        """The condition an entry row meets while this lease holds it."""
        entry = models.JournalEntry
        return and_(
            entry.lease_owner == self._owner,
            entry.lease_until == self.until,
            entry.status == EntryStatus.POSTING.value,
        )

    def renew(self) -> frozenset[int]:
        """Extend the lease on the entries still held; returns them (those lost to another worker are dropped)."""
        with self._lock:
            if not self._held:
                return self._held
            now = self._clock.now()
            until = max(now + self._length, self._until)
            entry = models.JournalEntry
            with self._sessions.begin() as session:
                kept = session.scalars(
                    update(entry)
                    .where(
                        entry.id.in_(self._held),
                        entry.lease_owner == self._owner,
                        entry.lease_until == self._until,
                        entry.status == EntryStatus.POSTING.value,
                    )
                    .values(lease_until=until, updated_at=now)
                    .returning(entry.id)
                    .execution_options(synchronize_session=False)
                ).all()
            lost = self._held - set(kept)
            if lost:
                logger.warning("%d entries were taken over by another worker or settled; not sending them", len(lost))
            self._held, self._until = frozenset(kept), until
            return self._held


class Heartbeat:
    """Calls ``renew`` every ``every`` seconds (real time) until stopped, or until it returns something false: the
    lease holds nothing any more. (The posting worker's entries, the evidence worker's attachment.)"""

    def __init__(self, renew: Callable[[], object], every: float, *, name: str = "posting-lease") -> None:
        self._renew = renew
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=name, daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self._every):
            try:
                if not self._renew():
                    return
            except SQLAlchemyError:  # the database is unreachable: the fence before each call still decides
                logger.warning("could not renew a lease (%s); trying again", self._thread.name, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


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
        renew_every: float = RENEW_EVERY,
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
        if not timedelta(0) < timedelta(seconds=renew_every) < lease:
            raise ValueError("renew_every must be positive and shorter than the lease")
        self._lease = lease
        self.renew_every = renew_every
        self._progress_every = progress_every
        self._last_progress: dict[int, float] = {}
        self._multicurrency: dict[str, bool] = {}
        self._run_lock = threading.Lock()
        self._outcomes = Outcomes()
        self._held: _Lease | None = None  # the lease of the claim being posted
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
                claimed = self._claim(tried, report)
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

    def _claimable(self, now: datetime) -> ColumnElement[bool]:
        entry = models.JournalEntry
        return or_(entry.status == EntryStatus.PENDING.value, self._in_doubt(now))

    @staticmethod
    def _in_doubt(now: datetime) -> ColumnElement[bool]:
        """Claimable entries an earlier attempt may have sent: released as unknown, or leased and the lease lapsed."""
        entry = models.JournalEntry
        return or_(
            entry.status == EntryStatus.UNKNOWN.value,
            and_(entry.status == EntryStatus.POSTING.value, entry.lease_until < now),
        )

    def _claim(self, exclude: set[int], report: WorkReport) -> list[Claimed]:
        """The next few claimable entries of one company, leased to this worker. When another replica took the same
        candidates a moment earlier, look again rather than stop: there may be more. Entries that can't be built
        into a request are recorded as failed (and added to ``exclude``) and the search goes on."""
        lost = 0
        while lost < CLAIM_ATTEMPTS:
            found, taken, lease_until = self._try_claim(exclude)
            if not found:
                return []
            if not taken:
                lost += 1
                continue
            claimed = self._load(taken, lease_until, report)
            if claimed:
                return claimed
            exclude.update(taken)
        return []

    def _try_claim(self, exclude: set[int]) -> tuple[bool, dict[int, _Taken], datetime]:
        """(whether there were candidates, those this worker leased, the lease's end)."""
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
                    self._claimable(now),
                    models.QboConnection.status == ConnectionStatus.CONNECTED.value,
                    entry.id.not_in(exclude),
                )
                .order_by(entry.id)
                .limit(1)
            ).first()
            if first is None:
                return False, {}, now
            team_id, realm_id = first
            candidates = session.execute(
                select(entry.id, entry.batch_request_id)
                .where(
                    entry.team_id == team_id,
                    entry.realm_id == realm_id,
                    self._claimable(now),
                    entry.id.not_in(exclude),
                )
                .order_by(entry.id)
                .limit(self.batch_size)
            ).all()
        if not candidates:
            return False, {}, now
        ids = [row.id for row in candidates]
        last_batch = {row.id: row.batch_request_id for row in candidates}
        lease_until = now + self._lease  # with the owner, identifies the rows this claim took (the fencing token)
        lease = {
            "status": EntryStatus.POSTING.value,
            "lease_owner": self.owner,
            "lease_until": lease_until,
            "attempts": entry.attempts + 1,
            "updated_at": now,
        }
        with self._sessions.begin() as session:
            # Whether an entry is in doubt is decided by the statement that takes it, not by the read above: an
            # entry read as pending may be another worker's lapsed lease by now, and must then be looked up first.
            fresh = session.scalars(
                update(entry)
                .where(entry.id.in_(ids), entry.status == EntryStatus.PENDING.value)
                .values(**lease)
                .returning(entry.id)
                .execution_options(synchronize_session=False)
            ).all()
            doubtful = session.scalars(
                update(entry)
                .where(entry.id.in_(ids), self._in_doubt(now))
                .values(**lease)
                .returning(entry.id)
                .execution_options(synchronize_session=False)
            ).all()
        taken = {entry_id: _Taken(in_doubt=False, last_batch=None) for entry_id in fresh}
        taken.update({entry_id: _Taken(in_doubt=True, last_batch=last_batch[entry_id]) for entry_id in doubtful})
        return True, taken, lease_until

    def _load(self, taken: dict[int, _Taken], lease_until: datetime, report: WorkReport) -> list[Claimed]:
        claimed: list[Claimed] = []
        unbuildable: list[tuple[int, int | None, str]] = []
        with self._sessions() as session:
            rows = session.scalars(
                select(models.JournalEntry)
                .where(models.JournalEntry.id.in_(taken))
                .options(selectinload(models.JournalEntry.lines))
                .order_by(models.JournalEntry.id)
            ).all()
            for row in rows:
                try:
                    request = _request(row)
                except ValueError as error:
                    unbuildable.append((row.id, row.preview_id, str(error)))
                    continue
                claimed.append(
                    Claimed(
                        id=row.id,
                        team_id=row.team_id,
                        realm_id=row.realm_id,
                        preview_id=row.preview_id,
                        in_doubt=taken[row.id].in_doubt,
                        request=request,
                        request_id=row.request_id,
                        posting_key=row.posting_key,
                        lease_until=lease_until,
                        reverses_entry_id=row.reverses_entry_id,
                        last_batch=taken[row.id].last_batch,
                    )
                )
        if unbuildable:
            self._fail_unbuildable(unbuildable, lease_until, report)
        return claimed

    def _fail_unbuildable(
        self, entries: list[tuple[int, int | None, str]], lease_until: datetime, report: WorkReport
    ) -> None:
        """Entries no QuickBooks request can be built from: failed with the reason, never claimed again by themselves
        (an approver's retry queues them again, and they fail again until the contract is fixed)."""
        now = self._clock.now()
        entry = models.JournalEntry
        with self._sessions.begin() as session:
            for entry_id, preview_id, reason in entries:
                failed = session.execute(
                    update(entry)
                    .where(
                        entry.id == entry_id,
                        entry.lease_owner == self.owner,
                        entry.lease_until == lease_until,
                        entry.status == EntryStatus.POSTING.value,
                    )
                    .values(
                        status=EntryStatus.FAILED.value,
                        error_code=UNBUILDABLE,
                        error_message=(
                            f"DeferredRev can't send this entry to QuickBooks: {reason}. Nothing was posted for it; "
                            "correct the contract, then preview the period again."
                        )[:2000],
                        lease_owner=None,
                        lease_until=None,
                        updated_at=now,
                    )
                    .returning(entry.id)
                    .execution_options(synchronize_session=False)
                ).first()
                if failed is not None:
                    logger.warning("entry %s can't be built into a QuickBooks request; recorded as failed", entry_id)
                    report.failed += 1
                    if preview_id is not None:
                        report.previews.add(preview_id)

    # Posting -----------------------------------------------------------------------------------------------------

    def _post(self, claimed: list[Claimed], report: WorkReport) -> None:
        team_id, realm_id = claimed[0].team_id, claimed[0].realm_id
        client = self._gateway.client_for(team_id, realm_id)
        self._outcomes = Outcomes()
        self._held = _Lease(
            sessions=self._sessions, clock=self._clock, owner=self.owner, length=self._lease,
            until=claimed[0].lease_until, ids=[c.id for c in claimed],
        )  # fmt: skip
        heartbeat = Heartbeat(self._held.renew, self.renew_every)
        try:
            to_send = self._resolve_in_doubt(client, claimed, report)
            to_send = self._with_currency(client, team_id, to_send)
            for group in _send_groups(to_send):
                if group[0].last_batch is not None or (len(group) > 1 and self.use_batch and not group[0].in_doubt):
                    self._post_batch(client, group, report)
                else:
                    for item in group:
                        self._post_one(client, item, report)
        except (NotConnectedError, QboAuthError) as error:
            # Still-leased entries go back to the queue; posting resumes once the connection works again.
            logger.warning("posting for team %s paused: %s", team_id, error.__class__.__name__)
            # Entries already released keep what they were released as: one whose call may have reached QuickBooks
            # stays UNKNOWN (looked up before any resend), never downgraded to PENDING.
            settled = {item.id for item, _ in self._outcomes.posted} | {item.id for item, _ in self._outcomes.failed}
            settled |= {entry_id for ids in self._outcomes.released.values() for entry_id in ids}
            open_items = [c for c in claimed if c.id not in settled]
            self._release([c.id for c in open_items if not c.in_doubt], EntryStatus.PENDING)
            self._release([c.id for c in open_items if c.in_doubt], EntryStatus.UNKNOWN)
        finally:
            heartbeat.stop()
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
        self.batch_pacer.wait(self._slots, items[0].realm_id, "batch")
        items = self._still_held(items)
        if not items:
            return
        # Entries in doubt go again under the requestid of the batch they were last sent in (recorded before it was
        # sent): should that call still reach QuickBooks, one of the two answers with the other's result.
        batch_id = items[0].last_batch or str(uuid.uuid5(BATCH_NAMESPACE, "|".join(item.request_id for item in items)))
        if items[0].last_batch is None:
            self._record_batch(items, batch_id)
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
        if not self._still_held([item]):
            return
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

    def _record_batch(self, items: Sequence[Claimed], batch_id: str) -> None:
        """Remember, before sending, which batch each entry goes in: a worker taking it over later sends it again in
        that batch, under the same requestid."""
        entry = models.JournalEntry
        holding = self._holding()
        with self._sessions.begin() as session:
            session.execute(
                update(entry)
                .where(entry.id.in_([item.id for item in items]), holding)
                .values(batch_request_id=batch_id)
                .execution_options(synchronize_session=False)
            )

    def _holding(self) -> ColumnElement[bool]:
        """The condition on an entry row while this worker's current lease holds it (none: no row)."""
        return self._held.holding() if self._held is not None else false()

    def _still_held(self, items: Sequence[Claimed]) -> list[Claimed]:
        """Renew the lease right before a create call; the items this worker still holds (only those may be sent)."""
        held = self._held.renew() if self._held is not None else frozenset()
        return [item for item in items if item.id in held]

    # Recording ---------------------------------------------------------------------------------------------------

    def _record_posted(self, item: Claimed, created: JournalEntry, report: WorkReport) -> None:
        self._outcomes.posted.append((item, created))

    def _record_failed(self, item: Claimed, error: QboError, report: WorkReport) -> None:
        self._outcomes.failed.append((item, error))

    def _release(self, entry_ids: Sequence[int], status: EntryStatus) -> None:
        if entry_ids:
            self._outcomes.released.setdefault(status, []).extend(entry_ids)

    def _flush(self, outcomes: Outcomes, report: WorkReport) -> None:
        """Write one claim's outcomes. Successes are recorded whoever holds the entry now (see the module docstring);
        failures and releases only while this worker still holds it."""
        now = self._clock.now()
        entry = models.JournalEntry
        cleared = {"lease_owner": None, "lease_until": None, "updated_at": now}
        holding = self._holding()
        posted: list[Claimed] = []
        failed: list[Claimed] = []
        with self._sessions.begin() as session:
            for item, created in outcomes.posted:
                if _mark_posted(session, item, created, now):
                    posted.append(item)
            originals = [item.reverses_entry_id for item in posted if item.reverses_entry_id is not None]
            if originals:
                session.execute(
                    update(entry)
                    .where(entry.id.in_(originals))
                    .values(status=EntryStatus.REVERSED.value)
                    .execution_options(synchronize_session=False)
                )
            for item, error in outcomes.failed:
                recorded = session.execute(
                    update(entry)
                    .where(entry.id == item.id, holding)
                    .values(status=EntryStatus.FAILED.value, error_code=error.code,
                            error_message=error.user_message[:2000], **cleared)
                    .returning(entry.id)
                    .execution_options(synchronize_session=False)
                ).first()  # fmt: skip
                if recorded is not None:
                    failed.append(item)
            for status, entry_ids in outcomes.released.items():
                session.execute(
                    update(entry)
                    .where(entry.id.in_(entry_ids), holding)
                    .values(status=status.value, **cleared)
                    .execution_options(synchronize_session=False)
                )
        report.posted += len(posted)
        report.failed += len(failed)
        for item in [*posted, *failed]:
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


def _mark_posted(session: Session, item: Claimed, created: JournalEntry, now: datetime) -> bool:
    """Record that QuickBooks holds ``item`` as ``created``, unless it is recorded as posted already (by another
    worker that found it by DocNumber, or an answer that arrived first). Whether this call recorded it."""
    entry = models.JournalEntry
    recorded = session.execute(
        update(entry)
        .where(entry.id == item.id, entry.status.not_in([EntryStatus.POSTED.value, EntryStatus.REVERSED.value]))
        .values(status=EntryStatus.POSTED.value, qbo_id=created.id, qbo_sync_token=created.sync_token, posted_at=now,
                error_code=None, error_message=None, lease_owner=None, lease_until=None, updated_at=now)
        .returning(entry.id)
        .execution_options(synchronize_session=False)
    ).first()  # fmt: skip
    if recorded is not None:
        return True
    known = session.scalar(select(entry.qbo_id).where(entry.id == item.id))
    if known != created.id:
        logger.error(
            "entry %s is in QuickBooks twice: recorded as QuickBooks entry %s, and %s was created too; delete one",
            item.id, known, created.id,
        )  # fmt: skip
    return False


def _send_groups(items: list[Claimed]) -> list[list[Claimed]]:
    """Entries that are sent together: the fresh ones, and the in-doubt ones by the batch they were last sent in (so
    it goes again under the same requestid; in-doubt entries never sent in a batch go one by one, under their own).
    Smallest entry id first."""
    groups: dict[tuple[bool, str | None], list[Claimed]] = {}
    for item in items:
        groups.setdefault((item.in_doubt, item.last_batch), []).append(item)
    return sorted(groups.values(), key=lambda group: group[0].id)


def _replace_request(item: Claimed, *, currency: str | None) -> Claimed:
    from dataclasses import replace

    return replace(item, request=replace(item.request, currency=currency))


def _ours(found: Sequence[JournalEntry], posting_key: str) -> JournalEntry | None:
    """The entry in QuickBooks that carries this posting key (the DocNumber alone could be reused by a person)."""
    for entry in found:
        if entry.private_note and posting_key in entry.private_note:
            return entry
    return None
