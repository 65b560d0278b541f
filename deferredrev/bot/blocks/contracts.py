"""Contracts: the overview with counts and totals, and the import outcome (summary or every problem by line).

Pure functions returning ``(text, blocks)`` or plain strings; user-supplied text (file names, CSV cells quoted in
problems) is escaped for mrkdwn where it goes into blocks or a message's text, and left plain in plain-text places.
"""

from __future__ import annotations

from collections.abc import Sequence

from deferredrev.bot import ids
from deferredrev.bot.blocks.common import (
    FIELD_ERROR_LIMIT,
    SECTION_TEXT_LIMIT,
    Block,
    actions,
    button,
    clip,
    context,
    escape,
    fields,
    header,
    section,
)
from deferredrev.bot.blocks.messages import Message
from deferredrev.revrec.csv_contracts import LineError
from deferredrev.revrec.money import format_amount
from deferredrev.services.contract_stats import ContractState, ContractStats, CurrencyTotal
from deferredrev.services.contracts import ImportResult

FIELD_ERROR_LINES = 10
FILE_NAME_LIMIT = 200  # a file name shown in a sentence or in bold (Slack allows longer ones)
MAX_CURRENCY_LINES = 20
ERROR_SECTIONS = 45  # of a message's 50 blocks, the rest being the intro and the closing note
WHO_CAN_IMPORT = "Slack workspace admins or owners, or people named as DeferredRev admins, can import contracts."
CSV_COLUMNS = "`contract_id,customer,amount,currency,start_date,end_date` (optional `method,description,cancel_date`)"
STATE_LABELS = (
    (ContractState.ACTIVE, "Active"),
    (ContractState.UPCOMING, "Starting later"),
    (ContractState.ENDED, "Ended"),
    (ContractState.CANCELLED, "Cancelled"),
)


def contracts_overview(stats: ContractStats, *, can_import: bool) -> Message:
    """Counts by state and totals per currency, with the Import button for admins (a note for everyone else)."""
    blocks: list[Block] = [header("Contracts")]
    if stats.total == 0:
        blocks.append(section(f"No contracts yet. Import them from a CSV file with the columns {CSV_COLUMNS}."))
        text = "No contracts yet."
    else:
        blocks.append(fields(*((label, f"{stats.count(state):,}") for state, label in STATE_LABELS)))
        blocks.append(section(currency_lines(stats.currencies)))
        text = f"{stats.total:,} contract{_s(stats.total)}: " + ", ".join(
            f"{stats.count(state):,} {label.lower()}" for state, label in STATE_LABELS
        )
    blocks.append(context(f"As of {stats.as_of.isoformat()} (UTC). Re-importing a `contract_id` updates that contract."))
    if can_import:
        blocks.append(actions(button("Import contracts", ids.OPEN_IMPORT, value="import", style="primary")))
    else:
        blocks.append(context(f":lock: Only {WHO_CAN_IMPORT}"))
    return text, blocks


def currency_lines(currencies: Sequence[CurrencyTotal]) -> str:
    lines = [_currency_line(total) for total in currencies[:MAX_CURRENCY_LINES]]
    if len(currencies) > MAX_CURRENCY_LINES:
        lines.append(f"…and {len(currencies) - MAX_CURRENCY_LINES} more currencies")
    return clip("\n".join(lines), SECTION_TEXT_LIMIT)


def _currency_line(total: CurrencyTotal) -> str:
    amount = format_amount(total.amount, total.currency, with_code=True)
    recognised = format_amount(total.recognised, total.currency, with_code=True)
    count = f"{total.contracts:,} contract{_s(total.contracts)}"
    return f"*{escape(total.currency)}* · {count} · {amount} · recognised to date {recognised}"


def error_line(error: LineError) -> str:
    """ "Line 3, amount: …" (or "Line 1: …" when the problem is not in one column)."""
    where = f"Line {error.line}" + (f", {error.column}" if error.column else "")
    return f"{where}: {error.message}"


def import_field_error(errors: Sequence[LineError]) -> list[str]:
    """The problem shown in the import modal, one plain-text line each: how many, the first problems, then how many
    more (within 2,000 characters)."""
    lines = [f"Nothing was imported: {len(errors):,} problem{_s(len(errors))}. The full list is in a message to you."]
    shown = 0
    for error in errors[:FIELD_ERROR_LINES]:
        candidate = clip(error_line(error), 300)
        if len("\n".join([*lines, candidate])) + 40 > FIELD_ERROR_LIMIT:
            break
        lines.append(candidate)
        shown += 1
    if len(errors) > shown:
        lines.append(f"…and {len(errors) - shown:,} more")
    return lines


def import_errors_message(errors: Sequence[LineError], file_name: str) -> Message:
    """Every problem by line, as many as fit in one message; :func:`errors_left_out` says how many did not."""
    chunks, shown = _error_chunks(errors)
    intro = (
        f":x: *Nothing was imported from {escape(file_name, FILE_NAME_LIMIT)}.* "
        f"The file has {len(errors):,} problem{_s(len(errors))}; "
        "fix them all and import the whole file again (the import is all or nothing)."
    )
    blocks: list[Block] = [section(intro), *(section(chunk) for chunk in chunks)]
    left_out = len(errors) - shown
    if left_out:
        blocks.append(context(f"…and {left_out:,} more: the full list is in the file `contracts-import-errors.txt`."))
    text = f"Nothing was imported from {file_name}: {len(errors):,} problem{_s(len(errors))}. " + "; ".join(
        error_line(error) for error in errors[:3]
    )
    return clip(escape(text), 3000), blocks


def errors_left_out(errors: Sequence[LineError]) -> int:
    return len(errors) - _error_chunks(errors)[1]


def errors_as_text(errors: Sequence[LineError], file_name: str) -> str:
    """The full list as a plain text file, one problem a line."""
    lines = [f"Nothing was imported from {file_name}: {len(errors):,} problem(s).", ""]
    return "\n".join([*lines, *(error_line(error) for error in errors)]) + "\n"


def _error_chunks(errors: Sequence[LineError]) -> tuple[list[str], int]:
    """Error lines packed into at most ERROR_SECTIONS sections of ≤ 3,000 characters; and how many fitted."""
    chunks: list[str] = []
    current: list[str] = []
    size = shown = 0
    for error in errors:
        line = "• " + escape(error_line(error), 500)
        if current and size + len(line) + 1 > SECTION_TEXT_LIMIT:
            if len(chunks) + 1 == ERROR_SECTIONS:
                break
            chunks.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
        shown += 1
    if current:
        chunks.append("\n".join(current))
    return chunks, shown


def import_done_message(result: ImportResult, file_name: str) -> Message:
    text = (
        f"Imported {result.created:,} new and updated {result.updated:,} contract{_s(result.updated)} "
        f"({result.unchanged:,} unchanged)"
    )
    blocks = [
        section(f":white_check_mark: {text} from *{escape(file_name, FILE_NAME_LIMIT)}*."),
        context("Run `/deferredrev contracts` for counts and totals, or `/deferredrev preview` for a month's entries."),
    ]
    return text, blocks


def _s(count: int) -> str:
    return "" if count == 1 else "s"
