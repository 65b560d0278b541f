"""The roll-forward's waterfall chart as a PNG, drawn with matplotlib (Agg: no display, no global pyplot state).

Per month, side by side: the opening balance, what was billed (rising from the opening), what was recognised
(falling from there), what was released if anything was, and the closing balance, with thin connectors from one to
the next. One panel per currency (up to :data:`MAX_PANELS`). Made to be read at Slack's preview size: 1,200 pixels
wide, large type, few ticks. Colour-blind safe: the Okabe-Ito palette, and every kind of bar also has its own hatch,
so the chart reads in grey too. Floats are used for drawing only; the figures come from integer minor units.
Rendering the same report gives the same bytes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from deferredrev.revrec.money import get_currency
from deferredrev.revrec.periods import Period
from deferredrev.revrec.rollforward import Movement, RollForwardReport

MAX_PANELS = 3
WIDTH_INCHES = 12.0
PANEL_INCHES = 5.0
DPI = 100
# Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency.
COLOURS = {
    "opening": "#999999",  # grey
    "billed": "#0072B2",  # blue
    "recognised": "#E69F00",  # orange
    "released": "#CC79A7",  # reddish purple
    "closing": "#000000",  # black
}
HATCHES = {"opening": "", "billed": "//", "recognised": "\\\\", "released": "xx", "closing": ""}
LABELS = {
    "opening": "Opening balance",
    "billed": "Billed",
    "recognised": "Recognised",
    "released": "Released (cancelled)",
    "closing": "Closing balance",
}


def waterfall_png(report: RollForwardReport, *, title: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    currencies = report.currencies[:MAX_PANELS] or ["USD"]
    figure = Figure(figsize=(WIDTH_INCHES, 1.2 + PANEL_INCHES * len(currencies)), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(currencies), 1, squeeze=False)[:, 0]
    for ax, currency in zip(axes, currencies, strict=True):
        _panel(ax, report, currency)
    figure.suptitle(title, fontsize=20, fontweight="bold")
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def _panel(ax: object, report: RollForwardReport, currency: str) -> None:
    from matplotlib.axes import Axes
    from matplotlib.patches import Patch
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    assert isinstance(ax, Axes)
    scale = 10 ** get_currency(currency).exponent
    months = report.months
    movements = [report.totals.get(currency, {}).get(period, Movement()) for period in months]
    kinds = ["opening", "billed", "recognised", "closing"]
    if any(m.released for m in movements):
        kinds.insert(3, "released")
    width = 0.8 / len(kinds)
    tops = [0.0]
    for index, movement in enumerate(movements):
        steps = _steps(movement, scale, kinds)
        tops += [value for _, bottom, height, _ in steps for value in (bottom, bottom + height)]
        for position, (kind, bottom, height, level) in enumerate(steps):
            x = index - 0.4 + width * (position + 0.5)
            ax.bar(x, height, width * 0.9, bottom=bottom, color=COLOURS[kind], hatch=HATCHES[kind],
                   edgecolor="white" if kind in ("opening", "closing") else "#333333", linewidth=0.6)  # fmt: skip
            if position + 1 < len(steps):  # a connector at the balance after this step, to the next bar
                ax.plot([x + width * 0.45, x + width * 0.55], [level, level], color="#555555", linewidth=0.9)
    low, high = min(tops), max(tops)
    ax.set_ylim(low - (high - low) * 0.02 if low < 0 else 0, high + (high - low or 1) * 0.14)  # room for the label
    ax.axhline(0, color="#333333", linewidth=0.8)
    ax.set_xticks(range(len(months)), [_month_label(p, len(months)) for p in months])
    ax.tick_params(axis="x", labelsize=13 if len(months) <= 12 else 10, rotation=0 if len(months) <= 12 else 45)
    ax.tick_params(axis="y", labelsize=13)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: _short(value)))
    ax.set_ylabel(currency, fontsize=15, fontweight="bold")
    ax.grid(axis="y", color="#dddddd", linewidth=0.8)
    ax.set_axisbelow(True)
    ax.set_xlim(-0.6, len(months) - 0.4)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    last = movements[-1] if movements else Movement()
    ax.text(
        0.995, 0.99, f"Closing {months[-1].label}: {_short(last.closing / scale)} {currency}", transform=ax.transAxes,
        ha="right", va="top", fontsize=14, fontweight="bold", bbox={"facecolor": "white", "edgecolor": "none", "pad": 3},
    )  # fmt: skip
    handles = [Patch(facecolor=COLOURS[k], hatch=HATCHES[k], edgecolor="#333333", label=LABELS[k]) for k in kinds]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0, 1.14), ncol=len(kinds), fontsize=12, frameon=False)


def _steps(movement: Movement, scale: int, kinds: Sequence[str]) -> list[tuple[str, float, float, float]]:
    """(kind, bottom, height, balance after it) of each bar of one month's waterfall, in major units."""
    opening = movement.opening / scale
    after_billing = opening + movement.billed / scale
    after_recognition = after_billing - movement.recognised / scale
    after_release = after_recognition - movement.released / scale
    closing = movement.closing / scale
    bars = {
        "opening": (0.0, opening, opening),
        "billed": (opening, after_billing - opening, after_billing),
        "recognised": (after_recognition, after_billing - after_recognition, after_recognition),
        "released": (after_release, after_recognition - after_release, after_release),
        "closing": (0.0, closing, closing),
    }
    return [(kind, *bars[kind]) for kind in kinds]


def _month_label(period: Period, count: int) -> str:
    return period.label if count <= 6 else f"{period.label[:3]}\n{period.year}" if count <= 12 else period.label


def _short(value: float) -> str:
    size = abs(value)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if size >= limit:
            return f"{value / limit:,.1f}{suffix}".replace(".0" + suffix, suffix)
    return f"{value:,.0f}"
