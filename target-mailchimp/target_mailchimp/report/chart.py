"""The chart of records per Mailchimp object kind over runs: an inline SVG, stacked bars.

One bar per run (oldest left), stacked by object kind (every audit row counts, whatever its
action), one `<g class="series" data-kind="...">` per kind, a legend, a y axis with round
ticks and grid lines, run start times on the x axis (thinned when there are many runs), the
total above each bar, and a tooltip (`<title>`) per segment with the counts per action.
Colours are the Okabe-Ito palette, distinguishable with the common colour-vision deficiencies.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from target_mailchimp.report.data import NO_KIND, RunCounts
from target_mailchimp.report.escape import attr

KIND_COLORS: dict[str, str] = {
    "member": "#0072B2",
    "customer": "#E69F00",
    "product": "#009E73",
    "order": "#CC79A7",
    NO_KIND: "#8C8C8C",
}
_EXTRA_COLORS = ("#56B4E9", "#D55E00", "#B8A400", "#332288", "#882255")


def kind_label(kind: str) -> str:
    return "no object" if kind == NO_KIND else kind


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


def _fmt(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def records_chart(
    runs: Sequence[RunCounts],
    kinds: Sequence[str],
    *,
    width: int = 1040,
    height: int = 400,
) -> str:
    """The SVG (as text) for `runs`, given oldest first."""
    colors = kind_colors(kinds)
    left, right, top, bottom = 64, 16, 56, 76
    plot_w = width - left - right
    plot_h = height - top - bottom
    totals = [sum(rc.count(kind) for kind in kinds) for rc in runs]
    ticks = nice_ticks(max(totals, default=0))
    y_max = ticks[-1]

    def y(value: float) -> float:
        return top + plot_h * (1 - value / y_max)

    parts: list[str] = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-labelledby="chart-title chart-desc" '
        'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">',
        '<title id="chart-title">Records per Mailchimp object kind over runs</title>',
        '<desc id="chart-desc">Stacked bars, one per run, oldest on the left; each colour is '
        "an object kind; the height is the number of audit rows of that kind in the run.</desc>",
    ]

    # Legend, across the top.
    x: float = left
    parts.append('<g class="legend">')
    for kind in kinds:
        label = kind_label(kind)
        parts.append(
            f'<g class="legend-item" data-kind="{attr(kind)}">'
            f'<rect x="{x}" y="14" width="14" height="14" rx="2" fill="{colors[kind]}"/>'
            f'<text x="{x + 20}" y="25.5" fill="#222">{attr(label)}</text></g>'
        )
        x += 20 + 7.4 * len(label) + 24
    parts.append("</g>")

    # Grid and y axis.
    parts.append('<g class="y-axis" fill="#555" text-anchor="end">')
    for tick in ticks:
        ty = _fmt(y(tick))
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{ty}" y2="{ty}" '
            f'stroke="{"#999" if tick == 0 else "#e3e3e3"}" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{_fmt(y(tick) + 4)}">{tick:,}</text>'
        )
    mid = _fmt(top + plot_h / 2)
    parts.append(
        f'<text class="axis-label" x="16" y="{mid}" text-anchor="middle" fill="#333" '
        f'transform="rotate(-90 16 {mid})">records (audit rows)</text></g>'
    )

    # Bars, one series (group) per kind.
    n = max(len(runs), 1)
    band = plot_w / n
    bar_w = min(band * 0.7, 56)
    offsets = [0] * len(runs)
    for kind in kinds:
        parts.append(f'<g class="series" data-kind="{attr(kind)}" fill="{colors[kind]}">')
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
                f"(started {rc.run.started_at:%Y-%m-%d %H:%M} UTC) \u2014 {actions}"
            )
            parts.append(
                f'<rect x="{_fmt(x0)}" y="{_fmt(y_top)}" width="{_fmt(bar_w)}" '
                f'height="{_fmt(max(h, 0.5))}"><title>{attr(tip)}</title></rect>'
            )
        parts.append("</g>")

    # Totals above bars and run labels below, thinned so labels never overlap.
    label_every = max(1, math.ceil(68 / band))
    parts.append('<g class="x-axis" text-anchor="middle" fill="#333">')
    for i, rc in enumerate(runs):
        cx = _fmt(left + band * i + band / 2)
        if band >= 30 or totals[i] == max(totals):
            parts.append(
                f'<text class="total" x="{cx}" y="{_fmt(y(totals[i]) - 5)}" fill="#222">'
                f"{totals[i]:,}</text>"
            )
        if i % label_every and i != len(runs) - 1:
            continue
        status = rc.run.status
        cls = "run-label" + (" bad" if status in ("failed", "abandoned") else "")
        fill = "#b3261e" if status in ("failed", "abandoned") else "#333"
        when = rc.run.started_at
        mark = " \u2715" if fill != "#333" else ""
        parts.append(
            f'<text class="{cls}" x="{cx}" y="{height - bottom + 18}" fill="{fill}">'
            f"<title>{attr(f'run {rc.run.run_id}: {status}')}</title>"
            f'<tspan x="{cx}">{when:%b %d}</tspan>'
            f'<tspan x="{cx}" dy="14">{when:%H:%M}{mark}</tspan>'
            "</text>"
        )
    parts.append(
        f'<text class="axis-label" x="{_fmt(left + plot_w / 2)}" y="{height - 10}" '
        'fill="#333">run start (UTC), oldest to newest</text></g>'
    )
    if not any(totals):
        parts.append(
            f'<text x="{_fmt(left + plot_w / 2)}" y="{_fmt(top + plot_h / 2)}" '
            'text-anchor="middle" fill="#666">no records in these runs</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
