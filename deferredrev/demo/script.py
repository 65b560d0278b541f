"""The walk-through: what ana, bo and the QuickBooks side do, step by step, and what DeferredRev answers.

Each step also checks what it shows (a connect that does not connect, or QuickBooks totals that differ from the
preview, raise :class:`DemoError`), so the demo doubles as a smoke test.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select

from deferredrev.bot import ids
from deferredrev.demo.samples import sample_contracts_path
from deferredrev.demo.stack import ADMIN, APPROVER, CHANNEL, CHANNEL_NAME, MEMBER, TEAM, DemoStack
from deferredrev.demo.transcript import JSON, Transcript
from deferredrev.revrec.money import format_amount
from deferredrev.revrec.periods import Period
from deferredrev.sandbox.intuit.seed import US_REALM
from deferredrev.sandbox.intuit.wire import QboFault
from deferredrev.sandbox.slack import Ephemeral, Message, render_blocks
from deferredrev.sandbox.slack.render import message_text_for_search
from deferredrev.storage.models import Preview

PERIOD = "2026-10"
CURRENCY = "USD"
POSTING_TIMEOUT = 60.0
REPLY_TIMEOUT = 10.0
OPTIONS_SHOWN = 4

ROLES = {ADMIN: "ana (admin)", APPROVER: "bo (approver)", MEMBER: "cy (member)"}
BOT = "DeferredRev"
ONLY_YOU = f"{BOT} (only visible to you)"
IN_CHANNEL = f"{BOT} in #{CHANNEL_NAME}"


class DemoError(Exception):
    """Something the demo checks did not hold; the message says what."""


@dataclass(frozen=True)
class Outcome:
    period_label: str
    entries: int
    currency: str
    recognised_minor: int


@dataclass(frozen=True)
class Seen:
    """What a user could already see before an action, so the answer to that action is told apart from old ones."""

    user: str
    channel: str
    ephemerals: frozenset[str]
    dms: frozenset[str]
    messages: frozenset[str]


def _shows(item: Ephemeral | Message, contains: str) -> bool:
    return contains in message_text_for_search(item.text, item.blocks)


def _key(item: Ephemeral | Message) -> str:
    return f"{item.ts}|{item.text}|{json.dumps(item.blocks, sort_keys=True)}"


def _link_in(blocks: list[JSON]) -> str:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("url"):
                return str(element["url"])
    raise DemoError("no link button in the message")


def _cents(amount: Any) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())


class Walkthrough:
    def __init__(self, stack: DemoStack, out: Transcript, *, chart_path: Path | None = None) -> None:
        self.stack = stack
        self.slack = stack.slack
        self.out = out
        self.chart_path = chart_path
        self.chart: bytes | None = None

    def run(self) -> Outcome:
        ts = self.post_a_period()
        outcome = self.what_reached_quickbooks(ts)
        self.evidence(ts)
        self.history()
        self.expire()
        self.reconnect()
        self.disconnect()
        self.connect_again()
        self.report()
        return outcome

    def post_a_period(self) -> str:
        """From importing contracts to an approved preview posted to QuickBooks; the preview's message ts."""
        self.import_contracts()
        self.connect()
        self.check_status()
        self.map_accounts()
        self.choose_approvers()
        self.quickbooks_so_far()
        ts = self.preview()
        self.approve(ts)
        return ts

    # ---- chat plumbing -------------------------------------------------------------------------------------------------

    def seen(self, user: str, channel: str = CHANNEL) -> Seen:
        return Seen(
            user=user,
            channel=channel,
            ephemerals=frozenset(_key(e) for e in self.slack.ephemerals(channel, user)),
            dms=frozenset(_key(m) for m in self.slack.dms(user)),
            messages=frozenset(m.ts for m in self.slack.messages(CHANNEL)),
        )

    def command(self, user: str, text: str) -> Seen:
        seen = self.seen(user)
        self.out.says(ROLES[user], f"/deferredrev {text}")
        response = self.stack.driver.slash(user, CHANNEL, text)
        if response.status_code != 200:
            raise DemoError(f"/deferredrev {text} answered HTTP {response.status_code}")
        return seen

    def click(self, user: str, label: str, action_id: str, *, channel: str = CHANNEL, ts: str | None = None) -> Seen:
        seen = self.seen(user, channel)
        self.out.says(ROLES[user], f"clicks [ {label} ]")
        response = self.stack.driver.click(user, action_id=action_id, channel=channel, message_ts=ts)
        if response.status_code != 200:
            raise DemoError(f"clicking {label} answered HTTP {response.status_code}")
        return seen

    def _wait(self, find: Callable[[], Any], what: str, timeout: float = REPLY_TIMEOUT) -> Any:
        try:
            return self.slack.wait_for(find, timeout, message=what)
        except TimeoutError:
            raise DemoError(f"no {what} within {timeout:.0f}s") from None

    def reply(self, seen: Seen, contains: str) -> Ephemeral:
        """The new ephemeral answer to `seen.user`, printed."""

        def find() -> Ephemeral | None:
            fresh = [e for e in self.slack.ephemerals(seen.channel, seen.user) if _key(e) not in seen.ephemerals]
            return next((e for e in reversed(fresh) if _shows(e, contains)), None)

        found: Ephemeral = self._wait(find, f"reply containing {contains!r}")
        self.out.message(ONLY_YOU, found.blocks, found.text)
        return found

    def dm(self, seen: Seen, contains: str) -> Message:
        def find() -> Message | None:
            fresh = [m for m in self.slack.dms(seen.user) if _key(m) not in seen.dms]
            return next((m for m in reversed(fresh) if _shows(m, contains)), None)

        found: Message = self._wait(find, f"DM containing {contains!r}")
        self.out.message(f"{BOT} (DM to {self.stack.names()[seen.user]})", found.blocks, found.text)
        return found

    def posted(self, seen: Seen, contains: str, timeout: float = REPLY_TIMEOUT) -> Message:
        def find() -> Message | None:
            fresh = [m for m in self.slack.messages(CHANNEL) if m.ts not in seen.messages]
            return next((m for m in reversed(fresh) if _shows(m, contains)), None)

        found: Message = self._wait(find, f"message in #{CHANNEL_NAME} containing {contains!r}", timeout)
        self.out.message(IN_CHANNEL, found.blocks, found.text)
        return found

    def view(self, user: str, callback_id: str) -> JSON:
        try:
            found = self.slack.wait_for_view(user, callback_id=callback_id, timeout=REPLY_TIMEOUT)
        except TimeoutError:
            raise DemoError(f"the {callback_id} modal did not open") from None
        self.out.modal(self.stack.names()[user], found)
        return found

    def submit(self, user: str, view: JSON, values: dict[str, Any]) -> None:
        response = self.stack.driver.submit(user, view["id"], values)
        body = response.json() if response.content.strip() else {}
        if response.status_code != 200 or body.get("response_action") == "errors":
            raise DemoError(f"the {view.get('callback_id')} modal refused the submission: {body.get('errors')}")

    def browser(self, link: str) -> str:
        visit = self.stack.browse(link)
        self.out.says("ana's browser", "\n".join(["opens the link:", *(f"→ {hop}" for hop in visit.hops)]))
        if not visit.hops or "→ our page “Connect QuickBooks to" not in visit.hops[0]:
            raise DemoError("the connect link did not first show which Slack workspace it connects")
        self.out.says("ana's browser", f"shows the page “{visit.title}”")
        return visit.outcome

    # ---- the steps -----------------------------------------------------------------------------------------------------

    def import_contracts(self) -> None:
        self.out.step("ana imports the sample contracts from Slack")
        self.reply(self.command(ADMIN, "contracts"), "Contracts")
        seen = self.click(ADMIN, "Import contracts", ids.OPEN_IMPORT)
        modal = self.view(ADMIN, ids.IMPORT_VIEW)
        path = sample_contracts_path()
        content = path.read_bytes()
        rows = len(content.decode("utf-8").splitlines()) - 1
        self.out.says(ROLES[ADMIN], f"uploads {path.name} ({rows} contracts) and clicks [ Import ]")
        self.submit(ADMIN, modal, {ids.IMPORT_FILE_INPUT: (path.name, content)})
        self.reply(seen, "Imported 40 new")
        self.reply(self.command(ADMIN, "contracts"), "40 contracts")

    def connect(self) -> None:
        self.out.step("ana connects QuickBooks")
        seen = self.command(ADMIN, "connect")
        link = _link_in(self.reply(seen, "Connect QuickBooks").blocks)
        if self.browser(link) != "connected":
            raise DemoError("the connect flow did not end connected")
        self.dm(seen, "Connected to Sandbox Company_US_1")

    def check_status(self) -> None:
        self.out.step("ana checks the status")
        self.status(expect="🟢 Connected")

    def status(self, why: str | None = None, *, expect: str = "DeferredRev status") -> str:
        if why:
            self.out.note(why)
        found = self.reply(self.command(ADMIN, "status"), "DeferredRev status")
        text = render_blocks(found.blocks, found.text)
        if expect not in text:
            raise DemoError(f"status does not show {expect!r}")
        return text

    def map_accounts(self) -> None:
        self.out.step("ana maps the accounts, with type-ahead over the live chart of accounts")
        seen = self.command(ADMIN, "mappings")
        modal = self.view(ADMIN, ids.MAPPINGS_VIEW)
        deferred = self.type_ahead(modal, ids.DEFERRED_SELECT, "Deferred Revenue account", "def", "Deferred Revenue")
        revenue = self.type_ahead(modal, ids.REVENUE_SELECT, "Revenue account", "serv", "Services")
        self.out.says(ROLES[ADMIN], "clicks [ Save ]")
        self.submit(ADMIN, modal, {ids.DEFERRED_SELECT: deferred, ids.REVENUE_SELECT: revenue})
        self.dm(seen, "mappings saved")

    def type_ahead(self, modal: JSON, action_id: str, label: str, typed: str, pick: str) -> JSON:
        self.out.says(ROLES[ADMIN], f"types “{typed}” in {label}")
        options = self.stack.driver.suggest(ADMIN, modal["id"], action_id, typed)
        names = [str(o["text"]["text"]) for o in options]
        more = f"\n…and {len(names) - OPTIONS_SHOWN} more" if len(names) > OPTIONS_SHOWN else ""
        self.out.says("Slack offers", "\n".join(names[:OPTIONS_SHOWN]) + more)
        chosen = next((o for o, n in zip(options, names, strict=True) if n.split(" · ")[0] == pick), None)
        if chosen is None:
            raise DemoError(f"type-ahead for {typed!r} did not offer {pick!r}")
        self.out.says(ROLES[ADMIN], f"picks {chosen['text']['text']}")
        return dict(chosen)

    def choose_approvers(self) -> None:
        self.out.step("ana names the approvers and turns four-eyes on")
        seen = self.command(ADMIN, "settings")
        modal = self.view(ADMIN, ids.SETTINGS_VIEW)
        self.out.says(ROLES[ADMIN], "picks approvers @ana and @bo, ticks Four-eyes, clicks [ Save ]")
        self.submit(ADMIN, modal, {ids.APPROVERS_INPUT: [ADMIN, APPROVER], ids.FOUR_EYES_INPUT: ["on"]})
        self.reply(seen, "Settings saved")
        self.status("ana checks the status again", expect="Four-eyes: on")

    def quickbooks_so_far(self) -> None:
        """The bookkeeper's side: Deferred Revenue brought over from the old spreadsheet, October's invoices booked."""
        self.out.step("Meanwhile in QuickBooks: the bookkeeper's side of Deferred Revenue")
        app = self.stack.server.app
        mapping = app.mappings.current(TEAM)
        if mapping is None:
            raise DemoError("no account mapping before the preview")
        period = Period.parse(PERIOD)
        october = app.reports.roll_forward(TEAM, period, period)
        owed = october.over_range(CURRENCY).opening
        held = _cents(self.stack.intuit.balance(US_REALM, mapping.deferred_revenue_id, period.start - timedelta(days=1)))
        equity = self.stack.intuit.companies[US_REALM].find_account("Opening Balance Equity").id
        brought_over = _brought_over(mapping.deferred_revenue_id, equity, owed - held, period)
        try:
            self.stack.intuit.post_journal_entry(US_REALM, brought_over)
        except QboFault as refused:  # closed books, say: the bookkeeper's side stays as it is
            self.out.note(f"QuickBooks refused the bookkeeper's entry: {refused.message}.")
            return
        billed = released = 0
        for row in october.contracts:
            if row.movement.billed:
                billed += row.movement.billed
                self.stack.intuit.book_invoice(
                    US_REALM, customer=row.customer, amount=_major(row.movement.billed), txn_date=period.start,
                    account_id=mapping.deferred_revenue_id, doc_number=f"INV-{row.contract_id}",
                )  # fmt: skip
            if row.movement.released:
                released += row.movement.released
                self.stack.intuit.book_invoice(
                    US_REALM, customer=row.customer, amount=_major(-row.movement.released), txn_date=period.end,
                    account_id=mapping.deferred_revenue_id, doc_number=f"CM-{row.contract_id}",
                )  # fmt: skip
        self.out.note(
            f"When the team moved to DeferredRev, the bookkeeper brought {mapping.deferred_revenue_name} over from the old "
            f"spreadsheet: on {period.start - timedelta(days=1):%d %b %Y} it holds what the contracts still owe, "
            f"{format_amount(owed, CURRENCY)} {CURRENCY} (a journal entry of {format_amount(owed - held, CURRENCY)} on top "
            f"of the {format_amount(held, CURRENCY)} it held). October's invoices ({format_amount(billed, CURRENCY)} "
            f"{CURRENCY}) are booked to it as they go out"
            + (f", and credit notes for cancelled contracts ({format_amount(released, CURRENCY)})." if released else ".")
        )

    def preview(self) -> str:
        self.out.step(f"ana previews {PERIOD} in #{CHANNEL_NAME}")
        seen = self.command(ADMIN, f"preview {PERIOD}")
        message = self.posted(seen, "Revenue recognition", timeout=30)
        if ids.PREVIEW_SET_CUTOVER in _offered(message):
            message = self.count_earlier_revenue_elsewhere(message.ts)
        offered = _offered(message)
        if ids.PREVIEW_APPROVE not in offered:
            shown = render_blocks(message.blocks, message.text).splitlines()
            reasons = " ".join(" ".join(line.split()) for line in shown if "⛔" in line) or "no reason shown"
            raise DemoError(f"the preview offers no [ Post to QuickBooks ]: {reasons}")
        return message.ts

    def count_earlier_revenue_elsewhere(self, ts: str) -> Message:
        """The first preview names the revenue the sample contracts earned before October: the team's spreadsheet
        recognised it, so ana counts it as recognised elsewhere and the preview is computed again in place."""
        self.out.note("The old spreadsheet recognised the revenue before October, so ana sets the cut-over date.")
        before = self.slack.message(CHANNEL, ts)
        shown = set(render_blocks(before.blocks, before.text).splitlines()) if before else set()
        self.click(ADMIN, "Count as recognised elsewhere", ids.PREVIEW_SET_CUTOVER, ts=ts)

        def recomputed() -> Message | None:
            message = self.slack.message(CHANNEL, ts)
            return message if message and "first entry" not in str(message.blocks) else None

        message: Message = self._wait(recomputed, "the preview computed again with the cut-over")
        lines = render_blocks(message.blocks, message.text, users=self.stack.names()).splitlines()
        self.out.message(f"{BOT} updates the preview", None, "\n".join(line for line in lines if line not in shown))
        self.out.note("The earlier months now count as recognised elsewhere, so the preview names none of them.")
        self.status("ana checks the status", expect="Cut-over")
        return message

    def approve(self, ts: str) -> None:
        self.out.step("Approval: four-eyes stops ana, bo posts")
        self.reply(self.click(ADMIN, "Post to QuickBooks", ids.PREVIEW_APPROVE, ts=ts), "Four-eyes")
        original = self.slack.message(CHANNEL, ts)
        shown = set(render_blocks(original.blocks, original.text).splitlines()) if original else set()
        updates = len(self.slack.calls("chat.update"))
        self.click(APPROVER, "Post to QuickBooks", ids.PREVIEW_APPROVE, ts=ts)
        self._wait(lambda: self._settled(ts), "posting to finish", POSTING_TIMEOUT)
        for blocks, text in self._updates_of(ts, updates):
            lines = render_blocks(blocks, text, users=self.stack.names()).splitlines()
            new = [line.strip() for line in lines if not any(old.strip().startswith(line.strip()) for old in shown)]
            self.out.message(f"{BOT} updates the preview", None, "\n".join(new))
        final = self.slack.message(CHANNEL, ts)
        if final is None or "Posted" not in render_blocks(final.blocks, final.text):
            raise DemoError("the preview did not end posted")

    def _settled(self, ts: str) -> bool:
        message = self.slack.message(CHANNEL, ts)
        text = render_blocks(message.blocks, message.text) if message else ""
        return any(word in text for word in ("Posted", "failed", "out of date"))

    def _updates_of(self, ts: str, start: int) -> list[tuple[list[JSON], str | None]]:
        found: list[tuple[list[JSON], str | None]] = []
        for call in self.slack.calls("chat.update")[start:]:
            if call.args.get("ts") != ts or not call.ok:
                continue
            blocks = call.args.get("blocks") or []
            found.append((json.loads(blocks) if isinstance(blocks, str) else list(blocks), call.args.get("text")))
        return found

    def what_reached_quickbooks(self, ts: str) -> Outcome:
        self.out.step("What reached QuickBooks")
        self.out.note("DeferredRev's journal entries as the sandbox company holds them now:")
        entries = sorted(
            (e for e in self.stack.intuit.journal_entries(US_REALM) if str(e.get("DocNumber", "")).startswith("DR")),
            key=lambda e: int(e["Id"]),
        )
        mapping = self.stack.server.app.mappings.current(TEAM)
        if mapping is None:
            raise DemoError("no account mapping after posting")
        revenues = [_revenue_in(entry, mapping.revenue_id) for entry in entries]
        rows = [_row(entry, revenue) for entry, revenue in zip(entries, revenues, strict=True)]
        total = _total_row(entries, sum(revenues))
        headers = ["DocNumber", "Date", "Lines", "Debits", "Revenue", "Contract"]
        self.out.table(headers, rows, right=(2, 3, 4), total=total)
        return self._check_against_preview(ts, len(entries), sum(revenues))

    def _check_against_preview(self, ts: str, count: int, recognised: int) -> Outcome:
        with self.stack.server.runtime.sessions() as session:
            # The message shows its newest preview (one that replaced another keeps the message).
            preview = session.scalars(select(Preview).where(Preview.slack_ts == ts).order_by(Preview.id.desc())).first()
            assert preview is not None
            summary = dict(preview.summary)
        currency, totals = next(iter(summary["totals"].items()))
        expected, label = int(totals["net_revenue"]), str(summary["period_label"])
        self.out.blank()
        self.out.note(
            f"{count} journal entries, revenue recognised {format_amount(recognised, currency)} {currency}; "
            f"the preview said {summary['entry_count']} entries, {format_amount(expected, currency)} {currency}."
        )
        if recognised != expected or count != summary["entry_count"]:
            raise DemoError("QuickBooks does not hold what the preview showed")
        self.out.note("✅ QuickBooks matches the preview to the cent.")
        return Outcome(period_label=label, entries=count, currency=currency, recognised_minor=recognised)

    def evidence(self, ts: str) -> None:
        self.out.step("The evidence beside each entry in QuickBooks")
        message = self._wait(lambda: self._shows_evidence(ts), "the evidence to be attached", POSTING_TIMEOUT)
        lines = render_blocks(message.blocks, message.text, users=self.stack.names()).splitlines()
        self.out.message(f"{BOT} updates the preview", None, next(line for line in lines if "Evidence" in line).strip())
        entries = {str(e["Id"]): e for e in self.stack.intuit.journal_entries(US_REALM) if e["DocNumber"].startswith("DR")}
        files: dict[str, list[JSON]] = {entry_id: [] for entry_id in entries}
        for attachable in self.stack.intuit.attachables(US_REALM):
            for link in attachable["AttachableRef"]:
                files.setdefault(link["EntityRef"]["value"], []).append(attachable)
        if any(len(files[entry_id]) != 1 for entry_id in entries):
            raise DemoError("not every posted entry has exactly one evidence attachment in QuickBooks")
        first = min(entries, key=int)
        (attachment,) = files[first]
        content = self.stack.intuit.attachment_content(US_REALM, attachment["Id"]).decode("utf-8")
        self.out.note(
            f"Each of the {len(entries)} entries has exactly one attachment in QuickBooks. "
            f"{entries[first]['DocNumber']}'s, {attachment['FileName']}, begins:"
        )
        self.out.says("QuickBooks attachment", "\n".join(_evidence_excerpt(content)))

    def _shows_evidence(self, ts: str) -> Message | None:
        message = self.slack.message(CHANNEL, ts)
        text = render_blocks(message.blocks, message.text) if message else ""
        return message if message is not None and "Evidence attached" in text else None

    def history(self) -> None:
        self.out.step("The posting history")
        self.reply(self.command(ADMIN, "history"), "Recent previews")

    def expire(self) -> None:
        self.out.step("The connection expires: revoked from the QuickBooks side")
        seen = self.seen(ADMIN)
        self.out.note("In QuickBooks, someone disconnects the DeferredRev app (every token for the company dies).")
        self.stack.intuit.disconnect_from_quickbooks(US_REALM)
        self.stack.clock.advance(timedelta(hours=1))
        self.out.note(
            "An hour passes (the clock DeferredRev and sandbox Intuit share moves forward) and the background refresh "
            "sweep runs:"
        )
        report = self.stack.server.app.lifecycle.sweep()
        self.out.note(f"  {report.due} connection due for a refresh: {report.refreshed} refreshed, {report.expired} expired")
        self.dm(seen, "has expired")
        self.status("ana checks the status", expect="Expired")

    def reconnect(self) -> None:
        self.out.step("ana reconnects from the alert")
        dm_channel = self.slack.dm_channel(ADMIN)
        seen = self.click(ADMIN, "Reconnect", ids.RECONNECT_BUTTON, channel=dm_channel)
        link = _link_in(self.reply(seen, "Reconnect QuickBooks").blocks)
        if self.browser(link) != "reconnected":
            raise DemoError("the reconnect flow did not end reconnected")
        self.dm(seen, "Reconnected")
        self.status("ana checks the status: the mappings were kept", expect="Revenue account: Services")

    def disconnect(self) -> None:
        self.out.step("ana disconnects")
        self.reply(self.command(ADMIN, "disconnect"), "Disconnect")
        seen = self.click(ADMIN, "Disconnect", ids.DISCONNECT_CONFIRM)
        self.reply(seen, "Disconnected")
        self.posted(seen, "disconnected")

    def connect_again(self) -> None:
        self.out.step("ana connects again: mappings, contracts and history were kept")
        seen = self.command(ADMIN, "connect")
        link = _link_in(self.reply(seen, "QuickBooks Online").blocks)
        if self.browser(link) not in ("connected", "reconnected"):
            raise DemoError("connecting again did not end connected")
        self.dm(seen, "to Sandbox Company_US_1")
        self.status("ana checks the status", expect="Revenue account: Services")

    def report(self) -> None:
        self.out.step("ana reports the roll-forward: the tie-out to QuickBooks and the waterfall chart")
        seen = self.command(ADMIN, "report")
        message = self.posted(seen, "Deferred revenue roll-forward", timeout=30)
        if "ties to the cent" not in render_blocks(message.blocks, message.text):
            raise DemoError("the roll-forward does not tie to QuickBooks' balance")
        shared = self.posted(seen, "month by month as CSV", timeout=30)
        files = shared.files or []
        names = [str(f.get("name")) for f in files]
        if sorted(name.rsplit(".", 1)[-1] for name in names) != ["csv", "png"]:
            raise DemoError(f"the report's chart and CSV were not both shared: {names}")
        self.out.says(IN_CHANNEL, "\n".join(f"📎 {f.get('title')} ({f.get('name')})" for f in files))
        chart = next(f for f in self.stack.slack.files if f.name.endswith(".png") and f.name in names)
        self.chart = chart.content
        if self.chart_path is not None:
            self.chart_path.write_bytes(chart.content)
            self.out.note(f"The chart is saved as {self.chart_path}: open it to see the waterfall.")


def _major(minor: int) -> str:
    return format_amount(minor, CURRENCY, thousands=False)


def _brought_over(deferred_account: str, equity_account: str, amount: int, period: Period) -> JSON:
    """The bookkeeper's journal entry bringing Deferred Revenue over from the spreadsheet (dated before ``period``)."""
    debit, credit = (equity_account, deferred_account) if amount >= 0 else (deferred_account, equity_account)
    day = (period.start - timedelta(days=1)).isoformat()
    return {
        "TxnDate": day, "DocNumber": "OB-SPREADSHEET", "PrivateNote": "Deferred revenue brought over from the spreadsheet",
        "Line": [
            {"Amount": _major(abs(amount)), "DetailType": "JournalEntryLineDetail",
             "JournalEntryLineDetail": {"PostingType": "Debit", "AccountRef": {"value": debit}}},
            {"Amount": _major(abs(amount)), "DetailType": "JournalEntryLineDetail",
             "JournalEntryLineDetail": {"PostingType": "Credit", "AccountRef": {"value": credit}}},
        ],
    }  # fmt: skip


def _evidence_excerpt(content: str, lines: int = 14) -> list[str]:
    """The evidence file's first lines, as a spreadsheet would show them (cells separated by " | ")."""
    import csv
    import io

    rows = list(csv.reader(io.StringIO(content)))[:lines]
    return [" | ".join(row) for row in rows] + ["…"]


def _revenue_in(entry: JSON, revenue_account: str) -> int:
    """Net revenue an entry recognises: credits to the revenue account less debits to it, in cents."""
    total = 0
    for line in entry["Line"]:
        detail = line["JournalEntryLineDetail"]
        if detail["AccountRef"]["value"] == revenue_account:
            cents = _cents(line["Amount"])
            total += cents if detail["PostingType"] == "Credit" else -cents
    return total


def _currency(entry: JSON) -> str:
    return str(entry.get("CurrencyRef", {}).get("value", "USD"))


def _total_row(entries: list[JSON], revenue: int) -> list[str]:
    currency = _currency(entries[0]) if entries else "USD"
    lines = sum(len(e["Line"]) for e in entries)
    debits = sum(_cents(e["TotalAmt"]) for e in entries)
    label = f"{len(entries)} entries"
    return [label, "", str(lines), format_amount(debits, currency), format_amount(revenue, currency), currency]


def _row(entry: JSON, revenue: int) -> list[str]:
    lines = entry["Line"]
    contract = str(lines[0].get("Description", "")).split(" ", 1)[0] if lines else ""
    currency = _currency(entry)
    return [
        str(entry["DocNumber"]),
        str(entry["TxnDate"]),
        str(len(lines)),
        format_amount(_cents(entry["TotalAmt"]), currency),
        format_amount(revenue, currency),
        contract,
    ]


def _offered(message: Message) -> set[str]:
    """The action ids of the buttons a message shows."""
    return {str(e.get("action_id")) for b in message.blocks or [] for e in b.get("elements", []) if e.get("action_id")}
