"""Journal-entry vocabulary: lines, drafts, the posted history, posting keys and doc numbers.

Keys: ``posting_key`` is ``"<scope>|<YYYY-MM>|<subject>|r<revision>"`` with subject ``contract:<id>``,
``summary:<CUR>`` or ``reversal:<doc number>``. ``doc_number`` is ``DR<yymm>-`` (``RV`` for reversals) plus the
first 60 bits of the key's SHA-256 in base32: 19 characters, within QBO's 21. Two keys share a doc number with
probability about n²/2⁶¹ for n entries in one period (about 4e-7 for a million), which is negligible; the posting
key, not the doc number, is what guarantees exactly-once posting.

``JournalLine`` and ``Recognition`` are NamedTuples rather than frozen dataclasses: a large period creates
millions of them and a NamedTuple is about three times cheaper to build. They are just as immutable.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import NamedTuple

from deferredrev.revrec.errors import EntryError
from deferredrev.revrec.periods import Period

MAX_TEXT_LENGTH = 4000  # QBO's limit for a line Description and for PrivateNote
MAX_DOC_NUMBER = 21  # QBO's limit for a JournalEntry DocNumber
ELLIPSIS = "…"
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_BASE32_PAIRS = tuple(first + second for first in _BASE32 for second in _BASE32)


class PostingMode(StrEnum):
    PER_CONTRACT = "per_contract"
    SUMMARY = "summary"


class LineKind(StrEnum):
    SCHEDULED = "scheduled"
    CATCH_UP = "catch_up"


class EntryKind(StrEnum):
    """What a journal entry does; the values are the service's ``previews.kind``.

    This is the one rule for which entries make their month count as posted (``marks_month_posted``): a
    recognition entry does, a reversal does not. A reversal is dated in the month it is made (the original's month
    when still open, else the current one) but recognises nothing there: counting its month as posted would sweep
    that month's revenue into later catch-up unrecognised, or hide it from ``unposted_months``.
    """

    RECOGNITION = "recognition"
    REVERSAL = "reversal"

    @classmethod
    def of_entry(cls, reverses: object | None) -> EntryKind:
        """The kind of an entry that reverses ``reverses`` (a posting key, an entry id, ...; None if nothing)."""
        return cls.RECOGNITION if reverses is None else cls.REVERSAL

    @property
    def marks_month_posted(self) -> bool:
        return self is EntryKind.RECOGNITION


def months_posted(entries: Iterable[tuple[Period, EntryKind]]) -> frozenset[Period]:
    """The months that posted entries, given as (entry period, kind), make count as posted: ``PostedHistory``'s
    ``posted_periods``. Used by ``PostedHistory.recording`` and by the service when it loads the history, so both
    apply ``EntryKind.marks_month_posted``."""
    return frozenset(period for period, kind in entries if kind.marks_month_posted)


class PostingType(StrEnum):
    """QBO's JournalEntryLineDetail.PostingType values."""

    DEBIT = "Debit"
    CREDIT = "Credit"

    def swapped(self) -> PostingType:
        return PostingType.CREDIT if self is PostingType.DEBIT else PostingType.DEBIT


@dataclass(frozen=True, slots=True)
class AccountMapping:
    deferred_revenue_id: str
    deferred_revenue_name: str
    revenue_id: str
    revenue_name: str

    def __post_init__(self) -> None:
        if self.deferred_revenue_id == self.revenue_id:
            raise EntryError("the Deferred Revenue and Revenue accounts must be different accounts")


class Recognition(NamedTuple):
    """Revenue (positive) or its reversal (negative) for one contract, attributed to one service period."""

    contract_id: str
    period: Period
    amount: int


class JournalLine(NamedTuple):
    contract_id: str
    kind: LineKind
    posting_type: PostingType
    account_id: str
    account_name: str
    amount: int  # positive minor units
    description: str  # names the contract, customer and period; at most 4,000 characters


@dataclass(frozen=True, slots=True)
class JournalEntryDraft:
    """One journal entry ready to post: balanced, in one currency, dated at the period end."""

    posting_key: str
    doc_number: str
    period: Period
    txn_date: date
    currency: str
    revision: int
    lines: tuple[JournalLine, ...]
    total_debits: int
    total_credits: int
    deferred_revenue_id: str  # tells which side of a line pair is revenue, for ``recognitions``
    service_period: Period  # the period the SCHEDULED lines recognise: ``period``, or the reversed entry's
    catch_up_recognitions: tuple[Recognition, ...] = ()  # the CATCH_UP lines, period by period
    reverses: str | None = None  # posting key of the entry this one reverses

    @property
    def recognitions(self) -> tuple[Recognition, ...]:
        """The revenue this entry recognises by contract and service period; record it in the ``PostedHistory``
        once the entry is posted. Derived from the lines rather than stored: a million drafts stay smaller."""
        scheduled = tuple(
            Recognition(line.contract_id, self.service_period, _signed(line, self.deferred_revenue_id))
            for line in self.lines
            if line.kind is LineKind.SCHEDULED and line.posting_type is PostingType.DEBIT
        )
        return self.catch_up_recognitions + scheduled

    @property
    def kind(self) -> EntryKind:
        return EntryKind.of_entry(self.reverses)

    @property
    def subject(self) -> str:
        """What the entry is about: ``contract:<id>``, ``summary:<CUR>`` or ``reversal:<doc number>``."""
        key = self.posting_key
        return key[key.index("|", key.index("|") + 1) + 1 : key.rindex("|")]

    @property
    def contract_ids(self) -> tuple[str, ...]:
        """The contracts on the entry's lines, in line order (derived, so a million-line summary stores no copy)."""
        return tuple(dict.fromkeys(line.contract_id for line in self.lines))

    @property
    def net_revenue(self) -> int:
        """Revenue this entry recognises (negative when it takes revenue back)."""
        return sum(recognition.amount for recognition in self.recognitions)

    def private_note(self, approver: str, requester: str | None = None) -> str:
        """QBO PrivateNote naming the contract(s), period, the people (as "Name (Slack ID)") and the posting key,
        within 4,000 characters."""
        head = f"Reversal of entry {self.reverses}. " if self.reverses else ""
        head += f"DeferredRev revenue recognition for {self.period.label}. Contracts: "
        asked = f"Requested by {requester}; approved by {approver}" if requester else f"Approved by {approver}"
        tail = f". {asked}. Posting key: {self.posting_key}."
        budget = MAX_TEXT_LENGTH - len(head) - len(tail)
        return truncate(head + list_within(self.contract_ids, budget) + tail)


@dataclass(frozen=True)
class PostedHistory:
    """What the workspace already posted.

    ``amounts[contract_id][period]`` is the net revenue posted for that contract's service ``period``: the sum of
    the ``recognitions`` of its posted drafts (reversals included: they take revenue back from the periods the
    reversed entry recognised). ``posted_periods`` are the months of posted entries that count as posted
    (``months_posted``: recognition entries, not reversals).

    A month counts as posted (``all_posted_periods``) when it is in ``posted_periods`` or has recognitions in
    ``amounts`` (catch-up attributed to it, or a month included as catch-up in a later entry). Catch-up covers the
    posted months; the other months before an entry's period are ``unposted_months`` until posted or included.
    """

    amounts: Mapping[str, Mapping[Period, int]] = field(default_factory=dict)
    posted_periods: frozenset[Period] = frozenset()

    def for_contract(self, contract_id: str) -> Mapping[Period, int]:
        return self.amounts.get(contract_id, {})

    def all_posted_periods(self) -> frozenset[Period]:
        periods = set(self.posted_periods)
        for by_period in self.amounts.values():
            periods.update(by_period)
        return frozenset(periods)

    def recording(self, *drafts: JournalEntryDraft) -> PostedHistory:
        """A new history with ``drafts`` posted."""
        amounts = {contract_id: dict(by_period) for contract_id, by_period in self.amounts.items()}
        for draft in drafts:
            for contract_id, period, amount in draft.recognitions:
                by_period = amounts.setdefault(contract_id, {})
                by_period[period] = by_period.get(period, 0) + amount
        periods = self.posted_periods | months_posted((draft.period, draft.kind) for draft in drafts)
        return PostedHistory(amounts, periods)


def _signed(debit_line: JournalLine, deferred_revenue_id: str) -> int:
    """Revenue recognised by a line pair, from its debit line: debiting Deferred Revenue recognises revenue."""
    return debit_line.amount if debit_line.account_id == deferred_revenue_id else -debit_line.amount


class DraftKeys:
    """Posting keys and doc numbers for the drafts of one (scope, period, revision)."""

    def __init__(self, scope: str, period: Period, revision: int, *, prefix: str = "DR") -> None:
        if not scope or "|" in scope:
            raise EntryError(f"scope must be a non-empty workspace id without '|'; got {scope!r}")
        if revision < 0:
            raise EntryError(f"revision must be 0 or more; got {revision}")
        self.revision = revision
        self._key_head = f"{scope}|{period}|"
        self._key_tail = f"|r{revision}"
        self._doc_head = f"{prefix}{period.year % 100:02d}{period.month:02d}-"
        self._doc_tail = f".{revision + 1}" if revision else ""

    def posting_key(self, subject: str) -> str:
        return self._key_head + subject + self._key_tail

    def doc_number(self, key: str) -> str:
        """A DocNumber a person can read: the prefix (DR, or RV for a reversal), the period as YYMM and what the
        entry is about: "DR2610-C-1002" for a contract, "DR2610-USD" for a summary entry, "RV2611-2610-C-1002" for
        the reversal of "DR2610-C-1002"; ".2" and up when a period is posted again. Deterministic from the posting
        key. Longer than QuickBooks' 21 characters, it keeps its start and ends in "~" and five characters of the
        key's hash, so it stays unique."""
        subject = key[len(self._key_head) : len(key) - len(self._key_tail)]
        kind, _, name = subject.partition(":")
        if kind == "reversal" and name[:2] in ("DR", "RV"):
            name = name[2:]
        readable = f"{self._doc_head}{name}{self._doc_tail}"
        if len(readable) <= MAX_DOC_NUMBER:
            return readable
        bits = int.from_bytes(hashlib.sha256(key.encode()).digest()[:4], "big") >> 7
        check = _BASE32_PAIRS[bits >> 15] + _BASE32_PAIRS[(bits >> 5) & 1023] + _BASE32[bits & 31]
        return readable[: MAX_DOC_NUMBER - len(check) - 1] + "~" + check


def truncate(text: str, limit: int = MAX_TEXT_LENGTH) -> str:
    return text if len(text) <= limit else text[: limit - len(ELLIPSIS)] + ELLIPSIS


def list_within(items: Sequence[str], budget: int) -> str:
    """``items`` joined by ", ", ending "… (+N more)" where they would not all fit in ``budget`` characters."""
    if sum(len(item) + 2 for item in items) - 2 <= budget:
        return ", ".join(items)
    shown: list[str] = []
    used = 0
    for index, item in enumerate(items):
        more = f"{ELLIPSIS} (+{len(items) - index - 1} more)"
        cost = len(item) + (2 if shown else 0)
        if used + cost + 2 + len(more) > budget:
            break
        shown.append(item)
        used += cost
    hidden = f"{ELLIPSIS} (+{len(items) - len(shown)} more)"
    return truncate(", ".join([*shown, hidden]), budget)
