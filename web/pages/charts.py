"""Charts of the pages as inline SVG (matplotlib, no browser-side charting), in German number
and date format."""

from __future__ import annotations

import io
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display; must precede the pyplot-free Figure import below

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from layers.classify import format_number


def series_svg(points: list[tuple[date, float | None]], label: str, decimals: int = 0) -> str:
    """A line chart of a series over periods; gaps where a value is missing."""
    figure = Figure(figsize=(6.4, 2.8), dpi=100)
    axes = figure.add_subplot()
    dates = [p for p, _ in points]
    values = [float("nan") if v is None else v for _, v in points]
    axes.plot(dates, values, marker="o", color="#08519c", linewidth=2)
    axes.set_ylabel(label)
    axes.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: format_number(v, decimals)))
    axes.set_xticks(dates)
    axes.set_xticklabels([f"{d:%d.%m.%Y}" for d in dates], rotation=30, ha="right", fontsize=8)
    axes.grid(axis="y", color="#dddddd")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]
