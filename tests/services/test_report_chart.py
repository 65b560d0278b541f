"""The waterfall chart: a PNG 1,200 pixels wide (legible at Slack's preview size), a panel per currency, the same
bytes for the same report, and no trouble with credits, cancellations or an empty range."""

from __future__ import annotations

import struct
from dataclasses import replace
from datetime import date

from deferredrev.revrec.contracts import Contract
from deferredrev.revrec.periods import Period
from deferredrev.revrec.rollforward import roll_forward_range
from deferredrev.services.report_chart import COLOURS, HATCHES, waterfall_png

C1 = Contract("C-1", "Acme", 1_200_000, "USD", date(2026, 1, 1), date(2026, 12, 31))
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def size_of(png: bytes) -> tuple[int, int]:
    assert png.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def test_a_year_as_a_png_wide_enough_for_slack_and_the_same_bytes_every_time() -> None:
    contracts = [C1, replace(C1, contract_id="C-2", amount=-50_000, cancel_date=date(2026, 6, 30))]
    report = roll_forward_range(contracts, Period(2026, 1), Period(2026, 12), posted={"C-1": {Period(2026, 1): 101918}})
    png = waterfall_png(report, title="Deferred revenue roll-forward · Jan–Dec 2026")
    assert size_of(png) == (1200, 620)
    assert png == waterfall_png(report, title="Deferred revenue roll-forward · Jan–Dec 2026")


def test_one_panel_per_currency_and_an_empty_range_still_draws() -> None:
    two = roll_forward_range(
        [C1, replace(C1, contract_id="C-9", currency="JPY", amount=90000)], Period(2026, 1), Period(2026, 3)
    )
    assert size_of(waterfall_png(two, title="two"))[1] == 1120
    empty = roll_forward_range([], Period(2026, 1), Period(2026, 1))
    assert size_of(waterfall_png(empty, title="nothing")) == (1200, 620)


def test_the_palette_is_okabe_ito_and_every_kind_has_its_own_hatch_or_shade() -> None:
    okabe_ito = {"#000000", "#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"}
    assert set(COLOURS.values()) <= okabe_ito and len(set(COLOURS.values())) == len(COLOURS)
    assert len({(COLOURS[k], HATCHES[k]) for k in COLOURS}) == len(COLOURS)
