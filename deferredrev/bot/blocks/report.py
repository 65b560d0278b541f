"""The roll-forward report message for ``/deferredrev report``: the range at a glance per currency, the month-by-month
table, and the tie-out to QuickBooks; the CSV and the chart follow as files. Pure: it renders
``ReportService.build().content``, always within Slack's limits."""

from __future__ import annotations

from typing import Any

from deferredrev.bot.blocks.common import Block, context, escape, fields, header, section
from deferredrev.bot.blocks.messages import Message
from deferredrev.bot.blocks.tieout import tie_out_blocks
from deferredrev.revrec.money import format_amount
from deferredrev.services.reports import table

SECTION_BUDGET = 2900
MAX_BLOCKS = 50


def report_message(content: dict[str, Any]) -> Message:
    label = str(content["label"])
    blocks: list[Block] = [
        header(f"Deferred revenue roll-forward · {label}"),
        fields(
            ("Company", escape(content.get("company") or "not connected", 200)),
            ("Months", f"{content['first']} to {content['last']}"),
            ("Contracts", f"{content.get('contracts', 0):,}"),
            ("Currencies", ", ".join(content["currencies"]) or "none"),
        ),
    ]
    if not content["currencies"]:
        blocks.append(section("No contract has deferred revenue in these months."))
    for currency, info in content["currencies"].items():
        blocks.append(section(_glance(currency, info)))
        blocks += _table_sections(content, currency)
    blocks += tie_out_blocks(content.get("tie_out"))
    blocks.append(
        context(
            "Billed: the contract's amount enters Deferred Revenue on its billed date (its start date unless the CSV "
            "says `billed_date`). Recognised: its schedule; *not posted* is what DeferredRev hasn't posted to "
            "QuickBooks yet. Every contract and month is in the CSV; the waterfall chart follows."
        )
    )
    text = f"Deferred revenue roll-forward for {label}"
    return text, blocks[:MAX_BLOCKS]


def _glance(currency: str, info: dict[str, Any]) -> str:
    row = info["range"]

    def amount(key: str) -> str:
        return format_amount(int(row[key]), currency)

    not_posted = f" (of which *{amount('not_posted')}* not posted yet)" if row["not_posted"] else ""
    released = f" − released {amount('released')}" if row["released"] else ""
    return (
        f"*{currency}*: opening {amount('opening')} + billed {amount('billed')} − recognised {amount('recognised')}"
        f"{not_posted}{released} = *closing {amount('closing')}*"
    )


def _table_sections(content: dict[str, Any], currency: str) -> list[Block]:
    sections: list[Block] = []
    chunk: list[str] = []
    for line in table(content, currency):
        if sum(len(row) + 1 for row in chunk) + len(line) > SECTION_BUDGET - 8:
            sections.append(section("```" + "\n".join(chunk) + "```"))
            chunk = []
        chunk.append(escape(line))
    if chunk:
        sections.append(section("```" + "\n".join(chunk) + "```"))
    return sections
