"""The results table: markdown for people (and the README), JSON for tools."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.benchmarks.common import Figure


def _number(value: float) -> str:
    if value == float("inf"):
        return "inf"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _goal(figure: Figure) -> str:
    if figure.goal is None:
        return "(info)"
    return f"{figure.op} {_number(figure.goal)}{figure.unit}"


def _verdict(figure: Figure) -> str:
    met = figure.met
    if met is None:
        return ""
    return "met" if met else "**not met**"


def load_average() -> float | None:
    """The machine's 1-minute load average (None where the system does not tell)."""
    import os

    try:
        return round(os.getloadavg()[0], 1)
    except (AttributeError, OSError):
        return None


def machine(load_at_start: float | None = None) -> dict[str, Any]:
    import os

    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_at_start": load_at_start,
        "load_at_end": load_average(),
    }


def _load(info: dict[str, Any]) -> str:
    start, end = info.get("load_at_start"), info.get("load_at_end")
    if start is None and end is None:
        return ""
    return (
        f", load average {start} at the start and {end} at the end (other work on the "
        "machine slows every CPU-bound step)"
    )


def markdown(figures: Sequence[Figure], meta: dict[str, Any]) -> str:
    """The table of figures, each next to its goal, and the notes under it."""
    lines = [
        "# Benchmark results",
        "",
        f"Run: {meta['started']} ({'quick' if meta['quick'] else 'full'} sizes), "
        f"{meta['seconds']:.0f} s in all, on {meta['machine']['cpus']} CPUs, "
        f"Python {meta['machine']['python']}{_load(meta['machine'])}. Written by `make bench` "
        "(`python -m tests.benchmarks`); every figure is a ratio or a count taken within "
        "one run.",
        "",
        "| # | figure | value | goal | |",
        "|---|---|---|---|---|",
    ]
    for figure in figures:
        lines.append(
            f"| {figure.measurement} | {figure.name} | {_number(figure.value)}{figure.unit} "
            f"| {_goal(figure)} | {_verdict(figure)} |"
        )
    notes = [f for f in figures if f.note]
    if notes:
        lines += ["", "## Notes", ""]
        for figure in notes:
            lines.append(f"- **{figure.measurement}, {figure.name}**: {figure.note}")
    lines += ["", "## Details", ""]
    seen: set[str] = set()
    for figure in figures:
        key = json.dumps(figure.detail, sort_keys=True, default=str)
        if not figure.detail or (figure.measurement + key) in seen:
            continue
        seen.add(figure.measurement + key)
        parts = ", ".join(f"{k} {v}" for k, v in figure.detail.items())
        lines.append(f"- {figure.measurement}: {parts}")
    return "\n".join(lines) + "\n"


def write(figures: Sequence[Figure], out: Path, meta: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``results.md`` and ``results.json`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    md = out / "results.md"
    md.write_text(markdown(figures, meta), encoding="utf-8")
    js = out / "results.json"
    js.write_text(
        json.dumps({**meta, "figures": [f.to_dict() for f in figures]}, indent=2, default=str)
        + "\n",
        encoding="utf-8",
    )
    return md, js


def console(figures: Sequence[Figure]) -> str:
    """A plain-text table for the terminal."""
    rows = [
        (f.measurement, f.name, f"{_number(f.value)}{f.unit}", _goal(f), _verdict(f))
        for f in figures
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(4)] if rows else [0] * 4
    out = []
    for r in rows:
        verdict = r[4].replace("**", "")
        out.append(
            f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}  "
            f"{r[3]:<{widths[3]}}  {verdict}"
        )
    return "\n".join(out)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S %Z")
