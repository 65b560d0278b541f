"""Previews and decisions: compute a period's entries, show them, and turn an approval into outbox rows.

An approval is exactly-once by construction: the preview moves ``open -> approved`` with a conditional UPDATE in
the same transaction that inserts the entries, whose ``posting_key`` and ``request_id`` are unique and
deterministic. Before inserting, the period is recomputed; if the result differs from what was previewed
(contracts, mappings or history changed) the preview turns stale and nothing is queued.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from deferredrev.clock import Clock
from deferredrev.qbo.errors import QboError
from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.cutover import CutOver
from deferredrev.revrec.entries import (
    AccountMapping,
    JournalEntryDraft,
    PeriodEntries,
    PostedHistory,
    PostingMode,
    build_period_entries,
)
from deferredrev.revrec.journal import EntryKind, months_posted
from deferredrev.revrec.periods import Period
from deferredrev.services.actors import Actor
from deferredrev.services.connections import ConnectionService, ConnectionStatusView
from deferredrev.services.contracts import load_contracts
from deferredrev.services.cutover_facts import fix_facts, load_cutover
from deferredrev.services.decisions import (
    Decision,
    DecisionResult,
    PreviewNotFoundError,
    already_decided,
    may_decide,
    not_found,
    serialize_postings,
)
from deferredrev.services.evidence import evidence_summary, queue_evidence
from deferredrev.services.mappings import Mapping, MappingService
from deferredrev.services.outbox import entry_rows, request_id_for
from deferredrev.services.preview_content import (
    amounts_quickbooks_refuses,
    completeness_content,
    detail_csv,
    fingerprint,
    summarise,
)
from deferredrev.services.qbo_access import NotConnectedError, QboGateway
from deferredrev.services.reversals import Reversals
from deferredrev.services.review_packet import previous_revenue, review_content
from deferredrev.services.workspaces import WorkspaceService, WorkspaceSettings
from deferredrev.storage import models
from deferredrev.storage.db import SessionFactory
from deferredrev.storage.models import EntryStatus, PreviewStatus
from deferredrev.storage.repositories import audit
from deferredrev.style import person

logger = logging.getLogger(__name__)

EARLIEST_TIME_ZONE = timedelta(hours=14)  # UTC+14: where a month begins first
IN_FLIGHT = (EntryStatus.PENDING.value, EntryStatus.POSTING.value, EntryStatus.UNKNOWN.value, EntryStatus.POSTED.value)


@dataclass(frozen=True)
class PreviewResult:
    preview_id: int
    content: dict[str, Any]
    detail_csv: str | None  # the full detail when the message can show only the first lines


@dataclass(frozen=True)
class Refreshed:
    old: dict[str, Any]  # the stale preview's state
    result: PreviewResult | None  # the new preview, or None with why not
    message: str | None = None


@dataclass(frozen=True)
class PeriodInputs:
    settings: WorkspaceSettings
    connection: ConnectionStatusView
    mapping: Mapping | None
    contracts: list[Contract]
    history: PostedHistory
    revision: int
    cutover: CutOver | None = None  # with the recognised-elsewhere facts
    include: frozenset[Period] = frozenset()  # earlier months never posted, caught up in this entry
    previous_revenue: dict[str, int] = field(default_factory=dict)  # recognised for the month before, by currency


@dataclass
class Checks:
    warnings: list[str] = field(default_factory=list)
    blocking: list[str] = field(default_factory=list)
    book_close_date: date | None = None
    home_currency_only: str | None = None  # the company's currency when multicurrency is off in QuickBooks


class PreviewService:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        gateway: QboGateway,
        workspaces: WorkspaceService,
        connections: ConnectionService,
        mappings: MappingService,
        clock: Clock,
        tie_outs: Callable[[str, Period], dict[str, Any] | None] | None = None,
    ) -> None:
        self._tie_outs = tie_outs  # QuickBooks' balance beside the roll-forward's, shown with the preview
        self._sessions = sessions
        self._gateway = gateway
        self._workspaces = workspaces
        self._connections = connections
        self._mappings = mappings
        self._clock = clock
        self._reversals = Reversals(sessions=sessions, gateway=gateway, clock=clock)

    def default_period(self) -> Period:
        """The last closed month."""
        return Period.of(self._clock.now().date()).previous()

    # Preview -----------------------------------------------------------------------------------------------------

    def create(
        self,
        team_id: str,
        period: Period,
        *,
        requested_by: str,
        channel_id: str | None,
        include: Iterable[Period] = (),
        requested_by_name: str | None = None,
    ) -> PreviewResult:
        """A preview of ``period``'s entries; ``include``: earlier months never posted to catch up in it (only months
        before ``period``; others are ignored)."""
        included = frozenset(month for month in include if month < period)
        inputs = self._inputs(team_id, period, include=included)
        checks, entries = self._assess(team_id, period, inputs)
        content = self._content(period, inputs, checks, entries) | {"requested_by_name": requested_by_name}
        if self._tie_outs is not None and inputs.mapping is not None and inputs.connection.status == "connected":
            content["tie_out"] = self._tie_outs(team_id, period)  # shown, recorded with the approval, never blocking
        now = self._clock.now()
        with self._sessions.begin() as session:
            preview = models.Preview(
                team_id=team_id,
                realm_id=inputs.connection.realm_id,
                period=str(period),
                posting_mode=inputs.settings.posting_mode,
                fingerprint=fingerprint(entries, inputs.mapping),
                status=PreviewStatus.OPEN.value,
                requested_by=requested_by,
                slack_channel=channel_id,
                revision=inputs.revision,
                include_months=[str(month) for month in sorted(included)],
                summary=content,
                created_at=now,
            )
            session.add(preview)
            session.flush()
            preview_id = preview.id
            audit(session, action="preview.posted", now=now, team_id=team_id, actor=requested_by, period=str(period),
                  preview_id=preview_id, entries=len(entries.drafts) if entries else 0)  # fmt: skip
        detail = detail_csv(entries, inputs.contracts) if entries and entries.drafts else None
        return PreviewResult(preview_id=preview_id, content=content, detail_csv=detail)

    def attach_message(self, team_id: str, preview_id: int, channel_id: str, ts: str) -> None:
        with self._sessions.begin() as session:
            preview = session.get(models.Preview, preview_id)
            if preview is not None and preview.team_id == team_id:
                preview.slack_channel, preview.slack_ts = channel_id, ts

    def belongs_to(self, team_id: str, preview_id: int) -> bool:
        try:
            self._preview(team_id, preview_id)
        except PreviewNotFoundError:
            return False
        return True

    def refresh(self, team_id: str, preview_id: int, *, channel_id: str | None) -> Refreshed:
        """A stale preview computed again, in the name of the person who asked for it (four-eyes keeps applying to
        them). A reversal is asked for again. PreviewNotFoundError if it isn't this workspace's."""
        old = self.state(team_id, preview_id)
        channel = channel_id or old.get("channel")
        requester = Actor(old["requested_by"], is_admin=False, is_member=True)
        if old["kind"] == "reversal":
            original = self._preview(team_id, int(old["content"]["reverses_preview_id"]))
            asked = self._reversals.request(original, requester, channel_id=channel)
            if asked.decision is not Decision.REQUESTED:
                return Refreshed(old, None, asked.message)
            return Refreshed(old, PreviewResult(asked.preview_id, self.state(team_id, asked.preview_id)["content"], None))
        period = Period.parse(old["content"]["period"])
        name = old["content"].get("requested_by_name")
        return Refreshed(
            old, self.create(team_id, period, requested_by=requester.user_id, channel_id=channel, requested_by_name=name)
        )

    def include_earlier(self, team_id: str, preview_id: int, *, requested_by: Actor) -> Refreshed:
        """The preview again, catching up the earlier months it showed as never posted (and those it already
        included), in place of it, asked for by whoever chose it (four-eyes then applies to them).
        PreviewNotFoundError if it isn't this workspace's."""
        old = self.state(team_id, preview_id)
        if not self._replaceable(old):
            return Refreshed(old, None, "This preview was decided or replaced meanwhile. Nothing changed.")
        content = old["content"]
        months = {Period.parse(month) for month in content.get("included") or []}
        months |= {Period.parse(month["period"]) for month in content.get("unposted") or []}
        return self._replace(old, include=months, requested_by=requested_by)

    def earliest_unposted(self, team_id: str, preview_id: int) -> Period | None:
        """The earliest month the preview showed as never posted that QuickBooks still has open (to preview it on its
        own); None when there is none."""
        content = self.state(team_id, preview_id)["content"]
        open_months = [Period.parse(month["period"]) for month in content.get("unposted") or [] if not month["closed"]]
        return min(open_months, default=None)

    def set_cutover_from(self, team_id: str, preview_id: int, actor: Actor) -> Refreshed:
        """Before the first posting: the months before the preview's earliest posted period count as recognised
        elsewhere (the cut-over date it offered); the preview is computed again in place. Admins only."""
        old = self.state(team_id, preview_id)
        offer = old["content"].get("cutover_offer")
        if not actor.is_admin:
            return Refreshed(old, None, "Only DeferredRev admins can set the cut-over date. Nothing changed.")
        if not offer or not self._replaceable(old):
            return Refreshed(old, None, "This preview was decided or replaced meanwhile. Nothing changed.")
        with self._sessions() as session:
            if load_history(session, team_id).all_posted_periods():
                return Refreshed(old, None, "DeferredRev has posted since this preview was made, so the cut-over can "
                                 "only be changed in /deferredrev settings. Nothing changed.")  # fmt: skip
        self._workspaces.set_cutover(team_id, user_id=actor.user_id, cutover_date=date.fromisoformat(offer))
        return self._replace(old, include=set(), requested_by=actor)

    def _replaceable(self, old: dict[str, Any]) -> bool:
        return bool(old["status"] == PreviewStatus.OPEN.value and old["kind"] == "recognition")

    def _replace(self, old: dict[str, Any], *, include: Iterable[Period], requested_by: Actor) -> Refreshed:
        """A new preview of the old one's period, asked for by whoever shaped it, and the old one withdrawn (stale),
        so only the new one can be approved."""
        team_id, period = old["team_id"], Period.parse(old["content"]["period"])
        result = self.create(team_id, period, requested_by=requested_by.user_id, channel_id=old.get("channel"),
                             include=include, requested_by_name=requested_by.name)  # fmt: skip
        with self._sessions.begin() as session:
            session.execute(
                update(models.Preview)
                .where(models.Preview.id == old["preview_id"], models.Preview.status == PreviewStatus.OPEN.value)
                .values(status=PreviewStatus.STALE.value)
                .execution_options(synchronize_session=False)
            )
        return Refreshed(old, result)

    def withdraw(self, team_id: str, preview_id: int, reason: str) -> DecisionResult:
        """Rejected in its requester's name: a preview nobody can see (the bot couldn't post it) can't be approved."""
        try:
            requested_by = self._preview(team_id, preview_id).requested_by
        except PreviewNotFoundError:
            return not_found(preview_id)
        return self.reject(team_id, preview_id, Actor(requested_by, is_admin=False, is_member=True), reason=reason)

    def _inputs(self, team_id: str, period: Period, *, include: frozenset[Period] = frozenset()) -> PeriodInputs:
        settings = self._workspaces.settings(team_id)
        connection = self._connections.status(team_id)
        mapping = self._mappings.current(team_id)
        cutover = self._cutover(team_id, settings.cutover_date)
        with self._sessions() as session:
            contracts = load_contracts(session, team_id)
            history = load_history(session, team_id)
            previous = previous_revenue(session, team_id, period)
            revision = session.scalar(
                select(func.count(models.Preview.id)).where(
                    models.Preview.team_id == team_id,
                    models.Preview.period == str(period),
                    models.Preview.status.in_(
                        [PreviewStatus.APPROVED.value, PreviewStatus.POSTED.value, PreviewStatus.FAILED.value]
                    ),
                    models.Preview.kind == "recognition",
                )
            )
        return PeriodInputs(
            settings, connection, mapping, contracts, history, int(revision or 0), cutover, include, previous
        )

    def _cutover(self, team_id: str, cutover_date: date | None) -> CutOver | None:
        """The cut-over with its recognised-elsewhere facts; a contract without one (stored before facts were kept)
        gets it fixed now, the first time a preview reads it under this cut-over."""
        with self._sessions() as session:
            cutover, missing = load_cutover(session, team_id, cutover_date)
        if missing and cutover_date is not None:
            with self._sessions.begin() as session:
                fix_facts(session, team_id, cutover_date)
                cutover, _ = load_cutover(session, team_id, cutover_date)
        return cutover

    def _entries(self, team_id: str, period: Period, inputs: PeriodInputs) -> PeriodEntries | None:
        if inputs.mapping is None:
            return None
        accounts = AccountMapping(
            inputs.mapping.deferred_revenue_id,
            inputs.mapping.deferred_revenue_name,
            inputs.mapping.revenue_id,
            inputs.mapping.revenue_name,
        )
        return build_period_entries(
            inputs.contracts,
            period,
            inputs.history,
            accounts,
            mode=PostingMode(inputs.settings.posting_mode),
            cutover=inputs.cutover,
            include=inputs.include,
            scope=team_id,
            revision=inputs.revision,
        )

    def _assess(self, team_id: str, period: Period, inputs: PeriodInputs) -> tuple[Checks, PeriodEntries | None]:
        """What stops the period being posted, and its entries (computed the same way at preview and approval)."""
        checks = self._checks(team_id, period, inputs)
        entries = self._entries(team_id, period, inputs)
        if entries is not None:
            checks.blocking += amounts_quickbooks_refuses(entries.drafts)
            if checks.home_currency_only:
                checks.blocking += _currencies_quickbooks_refuses(entries.drafts, checks.home_currency_only)
        return checks, entries

    def _checks(self, team_id: str, period: Period, inputs: PeriodInputs) -> Checks:
        checks = Checks()
        self._check_calendar(period, checks)
        status = inputs.connection.status
        if status == "expired":
            checks.blocking.append("The QuickBooks connection has expired: an admin can /deferredrev reconnect.")
        elif status != "connected":
            checks.blocking.append("QuickBooks isn't connected: an admin can /deferredrev connect.")
        if inputs.mapping is None:
            checks.blocking.append("Accounts aren't mapped yet: an admin can run /deferredrev mappings.")
        elif inputs.connection.realm_id and inputs.mapping.realm_id != inputs.connection.realm_id:
            checks.blocking.append("The mapped accounts belong to another QuickBooks company: run /deferredrev mappings.")
        if status == "connected" and inputs.connection.realm_id and not checks.blocking:
            self._check_quickbooks(team_id, inputs.connection.realm_id, period, inputs.mapping, checks)
        return checks

    def _check_calendar(self, period: Period, checks: Checks) -> None:
        """Revenue is earned as the service is delivered: a month that hasn't begun has nothing to recognise yet."""
        today = self._clock.now().date()
        # Not begun anywhere yet: the first time zones reach a new day 14 hours before UTC does.
        if period.start > (self._clock.now() + EARLIEST_TIME_ZONE).date():
            checks.blocking.append(
                f"{period.label} hasn't started yet (today is {today:%Y-%m-%d}): its revenue isn't earned, so it can't "
                f"be posted before {period.start:%Y-%m-%d}. Preview {Period.of(today).label} or an earlier month."
            )
        elif period.end >= today:  # its last day is not over either
            checks.warnings.append(
                f"{period.label} isn't over yet: this entry recognises the whole month's scheduled revenue, dated "
                f"{period.end:%Y-%m-%d}, and contracts added or changed before then will need another posting."
            )

    def _check_quickbooks(
        self, team_id: str, realm_id: str, period: Period, mapping: Mapping | None, checks: Checks
    ) -> None:
        client = self._gateway.client_for(team_id, realm_id)
        try:
            preferences = client.preferences()
            checks.book_close_date = preferences.book_close_date
            if not preferences.multicurrency_enabled:
                checks.home_currency_only = preferences.home_currency
            if preferences.book_close_date is not None and period.end <= preferences.book_close_date:
                checks.blocking.append(
                    f"QuickBooks books are closed through {preferences.book_close_date:%Y-%m-%d}, so {period.label} "
                    "can't be posted. Reopen the period in QuickBooks (Settings › Advanced › Close the books) or "
                    "preview an open month."
                )
            if mapping is not None:
                for account_id, label in (
                    (mapping.deferred_revenue_id, "Deferred Revenue"),
                    (mapping.revenue_id, "Revenue"),
                ):
                    account = client.account(account_id)
                    if not account.active:
                        checks.blocking.append(
                            f"The {label} account ({account.name}) is inactive in QuickBooks: reactivate it or choose "
                            "another with /deferredrev mappings."
                        )
        except NotConnectedError as error:
            checks.blocking.append(f"QuickBooks is {error.status}: an admin can /deferredrev reconnect.")
        except QboError as error:
            checks.blocking.append(f"Couldn't check QuickBooks: {error.user_message}")

    def _content(
        self, period: Period, inputs: PeriodInputs, checks: Checks, entries: PeriodEntries | None
    ) -> dict[str, Any]:
        drafts = entries.drafts if entries else ()
        lines, pairs, totals = summarise(drafts, {c.contract_id: c for c in inputs.contracts})
        warnings = list(checks.warnings)
        if entries is not None:
            warnings += list(entries.warnings_besides_unposted)
        posted_before = Period(period.year, period.month) in inputs.history.all_posted_periods()
        if entries is not None and not drafts:
            warnings.append(
                f"Nothing to post for {period.label}: "
                + ("everything is already posted." if posted_before else "no contract recognises revenue in this period.")
            )
        elif posted_before:
            warnings.append(f"{period.label} was posted before; these lines are only what changed since.")
        return {
            "period": str(period),
            "period_label": period.label,
            "company": inputs.connection.company_name,
            "mode": inputs.settings.posting_mode,
            "deferred_account": inputs.mapping.deferred_revenue_name if inputs.mapping else None,
            "revenue_account": inputs.mapping.revenue_name if inputs.mapping else None,
            "entry_count": len(drafts),
            "line_pairs": pairs,
            "lines": lines,
            "totals": totals,
            "warnings": warnings,
            "blocking": checks.blocking,
            "can_post": bool(drafts) and not checks.blocking,
            "four_eyes": inputs.settings.four_eyes,
            **completeness_content(entries, inputs.history, inputs.include, checks.book_close_date),
            **review_content(period, entries, inputs.contracts, inputs.history, inputs.include, inputs.previous_revenue),
            "approvers": list(inputs.settings.approvers),
        }

    # Decisions ---------------------------------------------------------------------------------------------------

    def approve(self, team_id: str, preview_id: int, actor: Actor) -> DecisionResult:
        try:
            preview = self._preview(team_id, preview_id)
        except PreviewNotFoundError:
            return not_found(preview_id)
        refusal = self._refusal(preview, actor, approving=True)
        if refusal is not None:
            return refusal
        if preview.kind == "reversal":
            return self._reversals.approve(preview, actor)
        user_id = actor.user_id
        period = Period.parse(preview.period)
        inputs = replace(self._inputs(preview.team_id, period, include=included_in(preview)), revision=preview.revision)
        checks, entries = self._assess(preview.team_id, period, inputs)
        if (
            fingerprint(entries, inputs.mapping) != preview.fingerprint
            or preview.posting_mode != inputs.settings.posting_mode
        ):
            return self._mark_stale(preview_id, user_id)
        if checks.blocking:
            return DecisionResult(Decision.BLOCKED, checks.blocking[0], preview_id)
        if entries is None or not entries.drafts:
            return DecisionResult(Decision.NOTHING, "There is nothing to post in this preview.", preview_id)
        return self._queue(preview, entries.drafts, actor, inputs.history)

    def _queue(
        self, preview: models.Preview, drafts: Sequence[JournalEntryDraft], actor: Actor, history: PostedHistory
    ) -> DecisionResult:
        with self._sessions.begin() as session:
            serialize_postings(session, preview.team_id)
            queued = self._queue_unless_changed(session, preview, drafts, actor, history)
        return queued if queued is not None else self._mark_stale(preview.id, actor.user_id)

    def _queue_unless_changed(
        self,
        session: Session,
        preview: models.Preview,
        drafts: Sequence[JournalEntryDraft],
        actor: Actor,
        history: PostedHistory,
    ) -> DecisionResult | None:
        """Queue the drafts; None when entries were queued for the workspace since ``history`` (the drafts' basis) was
        read: a retry or another approval may cover the same revenue, and these would post it twice."""
        current = session.get(models.Preview, preview.id)
        if current is None or current.status != PreviewStatus.OPEN.value:
            return already_decided(current, preview.id)  # a double click: the first one decided it
        if load_history(session, preview.team_id) != history:
            return None
        now, user_id = self._clock.now(), actor.user_id
        moved = session.execute(
            update(models.Preview)
            .where(models.Preview.id == preview.id, models.Preview.status == PreviewStatus.OPEN.value)
            .values(status=PreviewStatus.APPROVED.value, decided_by=user_id, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        if not moved.rowcount:  # type: ignore[attr-defined]
            return already_decided(session.get(models.Preview, preview.id), preview.id)
        current.summary = {**(current.summary or {}), "decided_by_name": actor.name}  # for what auditors read
        requester = person(preview.requested_by, (preview.summary or {}).get("requested_by_name"))
        rows = entry_rows(preview, drafts, approver=actor, requester_label=requester, now=now)
        session.add_all(rows)
        tie_out = (preview.summary or {}).get("tie_out")  # shown with the preview: recorded with the approval
        queue_evidence(session, rows, tie_out=tie_out, now=now)
        audit(session, action="preview.approved", now=now, team_id=preview.team_id, actor=user_id,
              preview_id=preview.id, entries=len(drafts), tie_out=tie_out)  # fmt: skip
        return DecisionResult(Decision.APPROVED, f"Approved: posting {len(drafts)} entries.", preview.id, len(drafts))

    def reject(self, team_id: str, preview_id: int, actor: Actor, *, reason: str) -> DecisionResult:
        try:
            preview = self._preview(team_id, preview_id)
        except PreviewNotFoundError:
            return not_found(preview_id)
        user_id = actor.user_id
        may_withdraw = actor.is_member and user_id == preview.requested_by
        refusal = (
            None
            if may_withdraw and preview.status == PreviewStatus.OPEN.value
            else self._refusal(preview, actor, approving=False)
        )
        if refusal is not None:
            return refusal
        now = self._clock.now()
        with self._sessions.begin() as session:
            moved = session.execute(
                update(models.Preview)
                .where(models.Preview.id == preview_id, models.Preview.status == PreviewStatus.OPEN.value)
                .values(status=PreviewStatus.REJECTED.value, decided_by=user_id, decided_at=now, reject_reason=reason[:2000])
                .execution_options(synchronize_session=False)
            )
            if not moved.rowcount:  # type: ignore[attr-defined]
                return already_decided(session.get(models.Preview, preview_id), preview_id)
            audit(session, action="preview.rejected", now=now, team_id=preview.team_id, actor=user_id,
                  preview_id=preview_id, reason=reason[:500])  # fmt: skip
        return DecisionResult(Decision.REJECTED, "Rejected. Nothing was posted.", preview_id)

    def _refusal(self, preview: models.Preview, actor: Actor, *, approving: bool) -> DecisionResult | None:
        if preview.status != PreviewStatus.OPEN.value:
            return already_decided(preview, preview.id)
        settings = self._workspaces.settings(preview.team_id)
        if not may_decide(settings, actor):
            who = "the approvers in /deferredrev settings" if settings.approvers else "workspace admins"
            verb = "approve" if approving else "reject"
            members = "" if actor.is_member else ", and only full members of this workspace"
            return DecisionResult(
                Decision.NOT_ALLOWED, f"Only {who}{members} can {verb} previews. Nothing changed.", preview.id
            )
        if approving and settings.four_eyes and actor.user_id == preview.requested_by:
            return DecisionResult(
                Decision.SELF_APPROVAL,
                "Four-eyes is on: someone other than the person who asked for this preview must approve it. "
                "Nothing changed.",
                preview.id,
            )
        return None

    def _mark_stale(self, preview_id: int, user_id: str) -> DecisionResult:
        now = self._clock.now()
        with self._sessions.begin() as session:
            session.execute(
                update(models.Preview)
                .where(models.Preview.id == preview_id, models.Preview.status == PreviewStatus.OPEN.value)
                .values(status=PreviewStatus.STALE.value)
                .execution_options(synchronize_session=False)
            )
            preview = session.get(models.Preview, preview_id)
            assert preview is not None
            audit(session, action="preview.stale", now=now, team_id=preview.team_id, actor=user_id, preview_id=preview_id)
        return DecisionResult(
            Decision.STALE,
            "Contracts, mappings or postings changed since this preview was made, so it wasn't posted. Refresh it to see "
            "the current entries.",
            preview_id,
        )

    def _preview(self, team_id: str, preview_id: int) -> models.Preview:
        """The preview, if it belongs to ``team_id``: what a request names is only ever looked up in its own
        workspace."""
        with self._sessions() as session:
            preview = session.get(models.Preview, preview_id)
        if preview is None or preview.team_id != team_id:
            # The owner of another workspace's preview is never logged or said: only that the id was refused.
            logger.warning("refused preview %s named by a request from workspace %s: not in that workspace",
                           preview_id, team_id)  # fmt: skip
            raise PreviewNotFoundError(preview_id)
        return preview

    # Reading back --------------------------------------------------------------------------------------------------

    def posted_months_before(self, team_id: str, day: date) -> list[Period]:
        """The months, starting before ``day``, for which DeferredRev has revenue posted (or on its way)."""
        with self._sessions() as session:
            history = load_history(session, team_id)
        return sorted(
            {
                period
                for by_period in history.amounts.values()
                for period, amount in by_period.items()
                if amount and period.start < day
            }
        )

    def state(self, team_id: str, preview_id: int) -> dict[str, Any]:
        """What the preview message should show now, for a request from ``team_id`` (PreviewNotFoundError if the
        preview isn't that workspace's)."""
        self._preview(team_id, preview_id)
        return self.recorded_state(preview_id)

    def recorded_state(self, preview_id: int) -> dict[str, Any]:
        """What the preview message should show now: its content plus decisions, progress and results. Only for work
        that starts from our own records (the posting worker's progress), never from an id a request named."""
        with self._sessions() as session:
            preview = session.get(models.Preview, preview_id)
            if preview is None:
                raise PreviewNotFoundError(preview_id)
            counts = dict(
                session.execute(
                    select(models.JournalEntry.status, func.count(models.JournalEntry.id))
                    .where(models.JournalEntry.preview_id == preview_id)
                    .group_by(models.JournalEntry.status)
                ).all()
            )
            posted = session.execute(
                select(models.JournalEntry.doc_number, models.JournalEntry.qbo_id)
                .where(models.JournalEntry.preview_id == preview_id, models.JournalEntry.status == EntryStatus.POSTED.value)
                .order_by(models.JournalEntry.id)
                .limit(10)
            ).all()
            failures = session.execute(
                select(models.JournalEntry.error_message, func.count(models.JournalEntry.id))
                .where(models.JournalEntry.preview_id == preview_id, models.JournalEntry.status == EntryStatus.FAILED.value)
                .group_by(models.JournalEntry.error_message)
            ).all()
            evidence = evidence_summary(session, preview_id)
        return {
            "preview_id": preview.id,
            "team_id": preview.team_id,
            "kind": preview.kind,
            "status": preview.status,
            "requested_by": preview.requested_by,
            "decided_by": preview.decided_by,
            "reject_reason": preview.reject_reason,
            "content": preview.summary,
            "counts": {str(k): int(v) for k, v in counts.items()},
            "posted": [{"doc": doc, "qbo_id": qbo_id} for doc, qbo_id in posted],
            "failures": [{"message": message or "Unknown error", "count": int(n)} for message, n in failures],
            "evidence": evidence,
            "channel": preview.slack_channel,
            "ts": preview.slack_ts,
            "created_at": preview.created_at,
            "decided_at": preview.decided_at,
            "time_zone": self._workspaces.settings(preview.team_id).time_zone,
        }

    def settle(self, preview_id: int) -> str:
        """Once nothing is left in the outbox, record whether the preview's entries all posted."""
        with self._sessions.begin() as session:
            statuses = session.scalars(
                select(models.JournalEntry.status).where(models.JournalEntry.preview_id == preview_id)
            ).all()
            preview = session.get(models.Preview, preview_id)
            if (
                preview is None
                or not statuses
                or preview.status not in (PreviewStatus.APPROVED.value, PreviewStatus.FAILED.value)
            ):
                return preview.status if preview else "missing"
            busy = {EntryStatus.PENDING.value, EntryStatus.POSTING.value, EntryStatus.UNKNOWN.value}
            if any(s in busy for s in statuses):
                return preview.status
            final = PreviewStatus.FAILED if EntryStatus.FAILED.value in statuses else PreviewStatus.POSTED
            if preview.status != final.value:
                preview.status = final.value
                audit(session, action="entries.posted" if final is PreviewStatus.POSTED else "entries.failed",
                      now=self._clock.now(), team_id=preview.team_id, actor="system", preview_id=preview_id,
                      posted=statuses.count(EntryStatus.POSTED.value),
                      failed=statuses.count(EntryStatus.FAILED.value))  # fmt: skip
            return final.value

    def retry_failed(self, team_id: str, preview_id: int, actor: Actor) -> DecisionResult:
        """Queue a preview's failed entries again under new request ids (their earlier attempt definitively failed),
        unless what they recognise was posted since by other entries: a later month's catch-up, or another preview
        of the same period. Then nothing is queued and the period needs a fresh preview. (A reversal's entries undo
        fixed amounts already in QuickBooks, and a posting is reversed only once: they are retried as they are.)"""
        try:
            preview = self._preview(team_id, preview_id)
        except PreviewNotFoundError:
            return not_found(preview_id)
        user_id = actor.user_id
        if not may_decide(self._workspaces.settings(team_id), actor):
            return DecisionResult(Decision.NOT_ALLOWED, "Only approvers can retry a posting.", preview_id)
        period = Period.parse(preview.period)
        recognition = preview.kind == "recognition"
        inputs = self._inputs(preview.team_id, period, include=included_in(preview))
        if recognition and inputs.mapping is None:
            return DecisionResult(
                Decision.BLOCKED,
                "The accounts aren't mapped any more, so I can't check what is still to post. Map them with "
                "/deferredrev mappings, then retry. Nothing was queued.",
                preview_id,
            )
        now = self._clock.now()
        with self._sessions.begin() as session:
            serialize_postings(session, preview.team_id)
            newer = session.scalar(
                select(func.count(models.Preview.id)).where(
                    models.Preview.team_id == preview.team_id,
                    models.Preview.period == preview.period,
                    models.Preview.id > preview_id,
                    models.Preview.status.in_([PreviewStatus.APPROVED.value, PreviewStatus.POSTED.value]),
                )
            )
            if newer:
                return DecisionResult(
                    Decision.ALREADY_DECIDED, "A newer preview of this period was approved; retry that one.", preview_id
                )
            failed = session.scalars(
                select(models.JournalEntry)
                .where(models.JournalEntry.preview_id == preview_id, models.JournalEntry.status == EntryStatus.FAILED.value)
                .options(selectinload(models.JournalEntry.recognitions))
            ).all()
            if not failed:
                return DecisionResult(Decision.NOTHING, "Nothing failed here, so there is nothing to retry.", preview_id)
            if recognition:
                # Read under the lock above, so a retry or approval committing meanwhile can't slip between check
                # and queue.
                current = replace(inputs, contracts=load_contracts(session, preview.team_id),
                                  history=load_history(session, preview.team_id))  # fmt: skip
                changed = _covered_since(failed, self._entries(preview.team_id, period, current))
                if changed:
                    return DecisionResult(Decision.STALE, _covered_message(changed, period), preview_id)
            for entry in failed:
                entry.generation += 1
                entry.request_id = request_id_for(entry.posting_key, entry.generation)
                entry.status = EntryStatus.PENDING.value
                entry.error_code = entry.error_message = None
                entry.updated_at = now
            session.execute(
                update(models.Preview)
                .where(models.Preview.id == preview_id)
                .values(status=PreviewStatus.APPROVED.value)
                .execution_options(synchronize_session=False)
            )
            audit(session, action="entries.retry", now=now, team_id=preview.team_id, actor=user_id,
                  preview_id=preview_id, entries=len(failed))  # fmt: skip
        return DecisionResult(Decision.QUEUED, f"Retrying {len(failed)} entries.", preview_id, len(failed))

    def request_reversal(self, team_id: str, preview_id: int, actor: Actor, *, channel_id: str | None) -> DecisionResult:
        """Ask to reverse what a preview posted: a reversal preview, which an approver must approve like any other."""
        try:
            original = self._preview(team_id, preview_id)
        except PreviewNotFoundError:
            return not_found(preview_id)
        if not may_decide(self._workspaces.settings(team_id), actor):
            return DecisionResult(
                Decision.NOT_ALLOWED, "Only approvers can ask for a posting to be reversed. Nothing changed.", preview_id
            )
        return self._reversals.request(original, actor, channel_id=channel_id)

    def history(self, team_id: str, limit: int = 10) -> list[dict[str, Any]]:
        with self._sessions() as session:
            previews = session.scalars(
                select(models.Preview)
                .where(models.Preview.team_id == team_id)
                .order_by(models.Preview.id.desc())
                .limit(limit)
            ).all()
            counts = {
                (pid, status): int(n)
                for pid, status, n in session.execute(
                    select(models.JournalEntry.preview_id, models.JournalEntry.status, func.count(models.JournalEntry.id))
                    .where(models.JournalEntry.preview_id.in_([p.id for p in previews]))
                    .group_by(models.JournalEntry.preview_id, models.JournalEntry.status)
                ).all()
            }
        return [
            {
                "preview_id": p.id,
                "period": p.period,
                "kind": p.kind,
                "status": p.status,
                "requested_by": p.requested_by,
                "decided_by": p.decided_by,
                "created_at": p.created_at,
                "decided_at": p.decided_at,
                "entry_count": (p.summary or {}).get("entry_count", 0),
                "totals": (p.summary or {}).get("totals", {}),
                "posted": counts.get((p.id, EntryStatus.POSTED.value), 0),
                "reversed": counts.get((p.id, EntryStatus.REVERSED.value), 0),
                "failed": counts.get((p.id, EntryStatus.FAILED.value), 0),
            }
            for p in previews
        ]


def _currencies_quickbooks_refuses(drafts: Sequence[JournalEntryDraft], home_currency: str) -> list[str]:
    """Without multicurrency QuickBooks books every entry in its home currency: a JPY amount would land as USD."""
    foreign: dict[str, set[str]] = defaultdict(set)
    for draft in drafts:
        if draft.currency != home_currency:
            foreign[draft.currency].update(line.contract_id for line in draft.lines)
    problems = []
    for currency, contracts in sorted(foreign.items()):
        listed = _name_some(sorted(contracts), 3)
        problems.append(
            f"This QuickBooks company keeps its books in {home_currency} only (multicurrency is off), so the "
            f"{currency} revenue of {listed} can't be posted: QuickBooks would record it as {home_currency}. Turn on "
            "multicurrency in QuickBooks (Settings › Account and settings › Advanced › Currency), or fix the "
            "contracts' currency."
        )
    return problems


def _name_some(names: Sequence[str], shown: int) -> str:
    """ "A, B, C and 4 more"."""
    listed = ", ".join(names[:shown])
    return listed + (f" and {len(names) - shown} more" if len(names) > shown else "")


def _covered_since(failed: Sequence[models.JournalEntry], current: PeriodEntries | None) -> list[str]:
    """Contracts whose failed revenue is no longer what the period still needs (posted since by another entry, or
    the contract changed): retrying would post it twice, or post a stale amount."""
    contracts = {r.contract_id for entry in failed for r in entry.recognitions}
    wanted: Counter[tuple[str, str, int]] = Counter()
    for draft in current.drafts if current else ():
        wanted.update((r.contract_id, str(r.period), r.amount) for r in draft.recognitions if r.contract_id in contracts)
    waiting = Counter((r.contract_id, r.period, r.amount_minor) for entry in failed for r in entry.recognitions)
    return sorted({contract for contract, _, _ in (waiting - wanted) + (wanted - waiting)})


def _covered_message(contracts: list[str], period: Period) -> str:
    named = _name_some(contracts, 5)
    return (
        f"Since these entries failed, the revenue of {named} changed or was posted by another entry (a later "
        f"month's catch-up, or another preview of {period.label}). Retrying would post it twice, so nothing was "
        f"queued. Run /deferredrev preview {period} for what is still to post."
    )


def load_history(session: Session, team_id: str) -> PostedHistory:
    """What is posted, or on its way (approved and in the outbox), by contract and service period."""
    rows = session.execute(
        select(
            models.EntryRecognition.contract_id,
            models.EntryRecognition.period,
            func.sum(models.EntryRecognition.amount_minor),
        )
        .join(models.JournalEntry, models.JournalEntry.id == models.EntryRecognition.entry_id)
        .where(
            models.JournalEntry.team_id == team_id, models.JournalEntry.status.in_(IN_FLIGHT + (EntryStatus.REVERSED.value,))
        )
        .group_by(models.EntryRecognition.contract_id, models.EntryRecognition.period)
    ).all()
    amounts: dict[str, dict[Period, int]] = defaultdict(dict)
    for contract_id, period, amount in rows:
        amounts[contract_id][Period.parse(period)] = int(amount)
    # Which entries make their month count as posted is the core's one rule (EntryKind.marks_month_posted).
    entries = session.execute(
        select(models.JournalEntry.period, models.JournalEntry.reverses_entry_id.is_not(None))
        .where(models.JournalEntry.team_id == team_id, models.JournalEntry.status.in_(IN_FLIGHT))
        .distinct()
    ).all()
    posted = months_posted(
        (Period.parse(period), EntryKind.of_entry(True if reverses else None)) for period, reverses in entries
    )
    return PostedHistory(amounts=dict(amounts), posted_periods=posted)


def included_in(preview: models.Preview) -> frozenset[Period]:
    """The earlier months a preview catches up (chosen when it was made; its approval recomputes with them)."""
    return frozenset(Period.parse(month) for month in preview.include_months or ())
