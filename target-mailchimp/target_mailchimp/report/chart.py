"""The chart of records per Mailchimp object kind over runs: an inline SVG, stacked bars.

One bar per run (oldest left), stacked by object kind (every audit row counts, whatever its
action), one `<g class="series" data-kind="...">` per kind, a legend, a y axis with round
ticks and grid lines, run start times on the x axis, the total above each bar, and a tooltip
(`<title>`) per segment with the counts per action. Colours are the Okabe-Ito palette,
distinguishable with the common colour-vision deficiencies.

Labels stay readable however large the counts and however many runs: each bar's band is at
least as wide as its total's label (5-digit counts included), the y axis makes room for its
widest tick, the chart grows wider than the page (and scrolls) rather than shrinking its
text, run labels are thinned only when a band is narrower than a label, the date is written
only where it changes, and times carry seconds when two labelled runs share a minute.
The geometry is computed here (`chart_model`); `templates/chart.svg.j2` writes the SVG.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from target_mailchimp.report.data import NO_KIND, RunCounts
from target_mailchimp.report.templating import environment, kind_label

KIND_COLORS: dict[str, str] = {
    "member": "#0072B2",
    "customer": "#E69F00",
    "product": "#009E73",
    "order": "#CC79A7",
    NO_KIND: "#8C8C8C",
}
_EXTRA_COLORS = ("#56B4E9", "#D55E00", "#B8A400", "#332288", "#882255")

#: Width of a character of the chart's 12px text, a little over the widest digit of the
#: common sans-serif fonts, so estimated label widths are upper bounds.
CHAR_W = 7.2
#: The narrowest band per run, and the gap kept between neighbouring labels.
MIN_BAND = 34.0
LABEL_GAP = 8.0
DEFAULT_WIDTH = 1040


def kind_colors(kinds: Sequence[str]) -> dict[str, str]:
    """A colour per kind: fixed for the known kinds, the extra palette for the others."""
    colors: dict[str, str] = {}
    extra = iter(_EXTRA_COLORS)
    for kind in kinds:
        colors[kind] = KIND_COLORS.get(kind) or next(extra, "#444444")
    return colors


def nice_ticks(max_value: int, target: int = 5) -> list[int]:
    """Round integer ticks from 0 to at least `max_value` (steps of 1, 2 or 5 x 10^k)."""
    if max_value <= 0:
        return [0, 1]
    raw = max_value / target
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    step = magnitude
    for multiple in (1, 2, 5, 10):
        step = multiple * magnitude
        if step >= raw:
            break
    step = max(1, round(step))
    top = math.ceil(max_value / step) * step
    return list(range(0, top + 1, step))


def text_width(text: str) -> float:
    """An upper bound of the width of `text` in the chart's 12px font."""
    return CHAR_W * len(text)


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


@dataclass
class Bar:
    x: str
    y: str
    width: str
    height: str
    tip: str


@dataclass
class Series:
    kind: str
    color: str
    bars: list[Bar] = field(default_factory=list)


@dataclass
class XLabel:
    """A run's label under its bar: the date (where it changes) and the time."""

    x: str
    date: str | None
    time: str
    title: str
    bad: bool


@dataclass
class Chart:
    width: int
    height: int
    wide: bool
    left: int
    plot_right: int
    legend: list[tuple[str, str, str, str]]  # kind, label, colour, x
    ticks: list[tuple[str, str, str]]  # label, line y, text y
    y_label_mid: str
    series: list[Series]
    totals: list[tuple[str, str, str]]  # x, y, text
    x_labels: list[XLabel]
    x_label_y: int
    x_axis_label: tuple[str, str]
    empty: tuple[str, str] | None


def chart_model(
    runs: Sequence[RunCounts],
    kinds: Sequence[str],
    *,
    width: int = DEFAULT_WIDTH,
    height: int = 400,
) -> Chart:
    """The chart's geometry for `runs`, given oldest first (see the module docstring)."""
    colors = kind_colors(kinds)
    totals = [sum(rc.count(kind) for kind in kinds) for rc in runs]
    ticks = nice_ticks(max(totals, default=0))
    y_max = ticks[-1]
    tick_labels = [f"{tick:,}" for tick in ticks]
    left = max(64, math.ceil(max(text_width(t) for t in tick_labels) + 30))
    right, top, bottom = 16, 56, 76
    n = max(len(runs), 1)

    # Run labels: the date where it changes, the time with seconds if minutes repeat.
    starts = [rc.run.started_at for rc in runs]
    minutes = [f"{s:%Y-%m-%d %H:%M}" for s in starts]
    with_seconds = len(set(minutes)) < len(minutes)
    time_format = "%H:%M:%S" if with_seconds else "%H:%M"
    time_w = text_width(("00:00:00" if with_seconds else "00:00") + " x") + LABEL_GAP
    total_w = max((text_width(f"{v:,}") for v in totals), default=0.0) + LABEL_GAP
    band = max(MIN_BAND, total_w, (width - left - right) / n)
    plot_w = band * n
    width = max(width, math.ceil(left + plot_w + right))
    plot_h = height - top - bottom

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    legend = []
    x: float = left
    for kind in kinds:
        label = kind_label(kind)
        legend.append((kind, label, colors[kind], _fmt(x)))
        x += 20 + text_width(label) + 24

    tick_rows = [
        (label, _fmt(y(t)), _fmt(y(t) + 4)) for label, t in zip(tick_labels, ticks, strict=True)
    ]

    bar_w = min(band * 0.7, 56)
    offsets = [0] * len(runs)
    series = []
    for kind in kinds:
        s = Series(kind, colors[kind])
        for i, rc in enumerate(runs):
            value = rc.count(kind)
            if value <= 0:
                continue
            x0 = left + band * i + (band - bar_w) / 2
            y_top = y(offsets[i] + value)
            h = y(offsets[i]) - y_top
            offsets[i] += value
            actions = ", ".join(
                f"{action} {count:,}" for action, count in sorted(rc.counts[kind].items()) if count
            )
            tip = (
                f"{kind_label(kind)}: {value:,} in run {rc.run.run_id} "
                f"(started {rc.run.started_at:%Y-%m-%d %H:%M:%S} UTC) \u2014 {actions}"
            )
            s.bars.append(Bar(_fmt(x0), _fmt(y_top), _fmt(bar_w), _fmt(max(h, 0.5)), tip))
        series.append(s)

    total_rows = [
        (_fmt(left + band * i + band / 2), _fmt(y(total) - 5), f"{total:,}")
        for i, total in enumerate(totals)
    ]

    label_every = max(1, math.ceil(max(time_w, text_width("Mar 01") + LABEL_GAP) / band))
    shown = list(range(0, len(runs), label_every))
    if runs and shown[-1] != len(runs) - 1:
        # The newest run is always labelled; the label before it gives way if too close.
        if len(shown) > 1 and len(runs) - 1 - shown[-1] < label_every:
            shown.pop()
        shown.append(len(runs) - 1)
    x_labels = []
    last_date = None
    for i in shown:
        rc = runs[i]
        when = rc.run.started_at
        date = f"{when:%b %d}"
        bad = rc.run.status in ("failed", "abandoned")
        x_labels.append(
            XLabel(
                x=_fmt(left + band * i + band / 2),
                date=date if date != last_date else None,
                time=f"{when:{time_format}}" + (" \u2715" if bad else ""),
                title=f"run {rc.run.run_id}: {rc.run.status}, started {when:%Y-%m-%d %H:%M:%S} UTC",
                bad=bad,
            )
        )
        last_date = date

    return Chart(
        width=width,
        height=height,
        wide=width > DEFAULT_WIDTH,
        left=left,
        plot_right=width - right,
        legend=legend,
        ticks=tick_rows,
        y_label_mid=_fmt(top + plot_h / 2),
        series=series,
        totals=total_rows,
        x_labels=x_labels,
        x_label_y=height - bottom + 18,
        x_axis_label=(_fmt(left + plot_w / 2), str(height - 10)),
        empty=None if any(totals) else (_fmt(left + plot_w / 2), _fmt(top + plot_h / 2)),
    )


def records_chart(runs: Sequence[RunCounts], kinds: Sequence[str], **kw: int) -> str:
    """The SVG (as text) for `runs`, given oldest first."""
    return environment().get_template("chart.svg.j2").render(chart=chart_model(runs, kinds, **kw))
