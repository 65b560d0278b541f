"""Hostile text end to end: what Slack (the sandbox) got when file names, CSV cells, contract ids and customers try
to mention everyone, link elsewhere or format themselves. Nothing of theirs is live; everything still reads."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import FIELD_ERROR_LIMIT
from deferredrev.revrec.csv_contracts import FORMULA_CHARACTERS
from deferredrev.services.contracts import export_contracts_csv, import_contracts_csv
from tests.e2e.harness import ADMIN, APPROVER, CHANNEL, TEAM, Stack
from tests.e2e.test_contracts_slack import (
    field_error,
    importing,
    modal_problem,
    open_import_modal,
    stored_contracts,
    submit_file,
)
from tests.e2e.test_preview_posting import PERIOD, preview
from tests.hostile import PLAIN, assert_inert, live_constructs, markup_of, mrkdwn_texts, readable

HEADER = ["contract_id", "customer", "amount", "currency", "start_date", "end_date", "method"]
HOSTILE_NAME = "<!channel> *Q4* `final` <https://evil.example|click>\n> <@U0ADMIN01>.csv"
HOSTILE_CELLS = ("<!here> `x`", "<#C0FINANCE>", "<!subteam^S1|@x>", "*bold* _it_")


def contracts_csv(*rows: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode()


def bad_rows(contract_id: str, currency: str, start: str, method: str) -> bytes:
    """Problems quoting each cell: a contract id given twice, the currency, the date, the method."""
    return contracts_csv(
        [contract_id, "Acme", "1.00", currency, start, "2026-12-31", method],
        [contract_id, "Acme", "1.00", "USD", "2026-01-01", "2026-12-31", "daily"],
    )


def import_answers(stack: Stack, name: str, content: bytes) -> list[str]:
    """Every mrkdwn text Slack got for a refused import: the "Importing…" ack, the modal's problem, and the message
    with every problem (its fallback text and blocks)."""
    before = len(stack.slack.ephemerals(CHANNEL, ADMIN))
    view, response = submit_file(stack, name, content)
    assert importing(response)
    ack_view = response.json()["view"]
    problem = modal_problem(stack, view, "Nothing was imported")
    told = stack.slack.wait_for_ephemeral(CHANNEL, ADMIN, contains="Nothing was imported", after=before)
    return [*mrkdwn_texts(ack_view), problem, told.text or "", *mrkdwn_texts(told.blocks or [])]


def test_a_hostile_file_name_and_cells_come_back_inert_from_the_import_modal(stack: Stack) -> None:
    hostile = import_answers(stack, HOSTILE_NAME, bad_rows(*HOSTILE_CELLS))
    plain = import_answers(stack, "contracts.csv", bad_rows(PLAIN, PLAIN, PLAIN, PLAIN))
    assert_inert(hostile, plain, HOSTILE_NAME)
    for cell in HOSTILE_CELLS:
        assert_inert(hostile, plain, cell)
    assert not [found for text in hostile for found in live_constructs(text)]
    assert stored_contracts(stack) == 0


def test_a_file_refused_before_download_names_it_as_plain_text_within_limits(stack: Stack) -> None:
    """Modal errors are plain text: the name reads exactly as uploaded, and a huge one is cut to fit."""
    view = open_import_modal(stack)
    name = HOSTILE_NAME * 400
    hosted = stack.slack.host_file(name, b"contract_id\n", user=ADMIN)
    hosted["size"] = 50 * 1024 * 1024  # what Slack says of a file too large to import
    view["state"] = {"values": {ids.IMPORT_FILE_BLOCK: {ids.IMPORT_FILE_INPUT: {"type": "file_input", "files": [hosted]}}}}
    payload = {
        "type": "view_submission", "user": {"id": ADMIN, "team_id": TEAM}, "team": {"id": TEAM},
        "api_app_id": stack.slack.app_id, "token": stack.slack.verification_token, "view": view, "response_urls": [],
        "trigger_id": stack.slack.issue_trigger(TEAM, ADMIN),
    }  # fmt: skip
    error = field_error(stack.driver.post_signed("payload=" + quote(json.dumps(payload))))
    assert error.startswith(HOSTILE_NAME) and len(error) <= FIELD_ERROR_LIMIT


def hostile_contracts() -> str:
    """Enough contracts for the detail CSV, whose ids, customers and descriptions try everything (the descriptions
    a formula, for the contracts export); one ended in September, so the preview's warning names it."""
    names = [
        "<!channel>",
        "<@U0ADMIN01>",
        "<https://evil.example|click>",
        "*bold*",
        "`code`",
        "a\nb <!here>",
        "＝1+1",
        "|calc",
    ]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*HEADER, "description"])
    for n in range(45):
        hostile = names[n % len(names)]
        writer.writerow([f"{hostile}-{n}", f"{hostile} Customer {n}", "1200.00", "USD", "2026-01-01", "2026-12-31",
                         "daily", f"=HYPERLINK(\"https://evil.example\",\"{hostile}\")"])  # fmt: skip
    writer.writerow(["<!everyone>-ended", "Ended *Co*", "300.00", "USD", "2026-01-01", "2026-09-30", "daily", ""])
    return out.getvalue()


def test_a_preview_of_hostile_contracts_mentions_only_the_requester_and_its_csv_runs_no_formula(ready: Stack) -> None:
    stack = ready
    import_contracts_csv(stack.server.runtime.sessions, stack.clock, team_id=TEAM, actor=ADMIN, text=hostile_contracts())
    message = stack.slack.message(CHANNEL, preview(stack, period=PERIOD))
    assert message is not None
    texts = [message.text, *mrkdwn_texts(message.blocks or [])]
    constructs = [found for text in texts for found in live_constructs(text)]
    # the footer's requester and the approvers it waits for; never a customer's
    assert set(constructs) == {f"<@{ADMIN}>", f"<@{APPROVER}>"}
    tokens = {token for text in texts for token in markup_of(text)}
    # no quote or strike; only our bold, code and the italics of the lines' descriptions
    assert tokens <= {"*", "`", "_", "\n", f"<@{ADMIN}>", f"<@{APPROVER}>"}, tokens
    raw = ("<!channel>", "<!here>", "<!everyone>", "<@U0ADMIN01> C", "<https://evil", "*bold*", "`code`", "\nb")
    assert not [found for text in texts for found in raw if found in text]
    shown = "\n".join(readable(text) for text in texts)  # what a person reads: the names, as written
    # the message lists the first lines (the CSV has them all): those it shows read as written
    written = [
        expected for expected in ("<!channel>-", "<@U0ADMIN01> Custo", "*bold*-", "`code` Custome") if expected in shown
    ]
    assert len(written) >= 3, shown

    sent = stack.slack.wait_for(lambda: next(iter(stack.slack.files), None), message="the preview's detail CSV")
    rows = list(csv.DictReader(io.StringIO(sent.content.decode())))
    assert len(rows) == 45 + 5  # and the workspace's own five contracts running in October
    for row in rows:
        text = [row[column] for column in ("contract_id", "customer", "debit_account", "credit_account", "description")]
        assert not [cell for cell in text if cell.lstrip().startswith(tuple(FORMULA_CHARACTERS))], row
        assert re.fullmatch(r"-?\d+\.\d\d", row["amount"]), row  # a number, as written
    assert {row["customer"] for row in rows} >= {"'＝1+1 Customer 6", "'|calc Customer 7", "a\nb <!here> Customer 5"}

    exported = list(csv.DictReader(io.StringIO(export_contracts_csv(stack.server.runtime.sessions, team_id=TEAM))))
    described = [row["description"] for row in exported if "evil.example" in row["description"]]
    assert len(described) == 45 and all(text.startswith("'=HYPERLINK(") for text in described)
