"""Charts and static maps as SVG, drawn on the server with matplotlib (no browser, no tile
server), in German number and date format: the same pictures serve the HTML pages and the
PDF documents."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from datetime import date

import matplotlib

matplotlib.use("Agg")  # no display; must precede the pyplot-free Figure import below

import shapely
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter

from layers.classify import format_number

# a fixed salt for the ids and no date: the same figure is the same SVG (the PDF of an
# unchanged profile is then the same document, laid out once)
STYLE = {
    "svg.fonttype": "none",
    "svg.hashsalt": "sozialraum",
    "font.family": "DejaVu Sans",
    "font.size": 8,
}
BLUE, GREY, RED = "#08519c", "#bdbdbd", "#cb181d"
# region, its Bezirk, the city: the three bars of every comparison
COMPARISON = ("#08519c", "#6baed6", "#bdbdbd")
CATEGORY_COLOURS = ("#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf")


def svg_of(figure: Figure) -> str:
    buffer = io.StringIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(
            buffer, format="svg", bbox_inches="tight", pad_inches=0.05, metadata={"Date": None}
        )
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def data_uri(svg: str) -> str:
    """An SVG as an image source (the PDF renderer and browsers both take it)."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(STYLE):
        return Figure(figsize=(width, height), dpi=100)


def _axes(figure: Figure):
    with matplotlib.rc_context(STYLE):
        return figure.add_subplot()


def _german_axis(axis, decimals: int = 0, suffix: str = "") -> None:
    axis.set_major_formatter(FuncFormatter(lambda v, _p: format_number(v, decimals) + suffix))


def series_svg(points: list[tuple[date, float | None]], label: str, decimals: int = 0) -> str:
    """A line chart of a series over periods; gaps where a value is missing."""
    figure = _figure(6.4, 2.8)
    axes = _axes(figure)
    dates = [p for p, _ in points]
    values = [float("nan") if v is None else v for _, v in points]
    axes.plot(dates, values, marker="o", color=BLUE, linewidth=2)
    axes.set_ylabel(label)
    _german_axis(axes.yaxis, decimals)
    axes.set_xticks(dates)
    axes.set_xticklabels([f"{d:%d.%m.%Y}" for d in dates], rotation=30, ha="right")
    axes.grid(axis="y", color="#dddddd")
    axes.spines[["top", "right"]].set_visible(False)
    return svg_of(figure)


def comparison_bars_svg(labels: list[str], groups: list[tuple[str, list[float | None]]]) -> str:
    """Horizontal bars of shares (in %) per label, one bar per group (region, Bezirk, city)."""
    figure = _figure(6.4, 0.45 * len(labels) + 0.8)
    axes = _axes(figure)
    height = 0.8 / max(len(groups), 1)
    for i, (name, values) in enumerate(groups):
        ys = [n + i * height for n in range(len(labels))]
        xs = [v if v is not None else 0 for v in values]
        axes.barh(ys, xs, height=height, color=COMPARISON[i % 3], label=name)
    axes.set_yticks([n + height * (len(groups) - 1) / 2 for n in range(len(labels))])
    axes.set_yticklabels(labels)
    axes.invert_yaxis()
    _german_axis(axes.xaxis, 0, " %")
    axes.grid(axis="x", color="#dddddd")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="lower right", frameon=False)
    return svg_of(figure)


def stacked_series_svg(
    periods: list[date], names: list[str], rows: list[list[float | None]], label: str
) -> str:
    """Counts of several parts over periods, stacked (e.g. the age bands of a population)."""
    figure = _figure(6.4, 3.2)
    axes = _axes(figure)
    columns = [[(row[i] or 0) for row in rows] for i in range(len(names))]
    colours = _ramp("viridis", len(names))
    axes.stackplot(periods, *columns, labels=names, colors=colours, alpha=0.9)
    axes.set_ylabel(label)
    _german_axis(axes.yaxis)
    axes.set_xticks(periods)
    axes.set_xticklabels([f"{d:%d.%m.%Y}" for d in periods], rotation=30, ha="right")
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False, reverse=True)
    return svg_of(figure)


def _ramp(name: str, n: int) -> list[str]:
    """``n`` colours evenly spread over a matplotlib colour map."""
    return [to_hex(matplotlib.colormaps[name](i / max(n - 1, 1))) for i in range(n)]


def _patch(geometry: shapely.Geometry, **style) -> PathPatch:
    """A (multi)polygon as one matplotlib patch, holes included."""
    vertices, codes = [], []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = list(ring.coords)
            vertices += xy
            codes += [Path.MOVETO] + [Path.LINETO] * (len(xy) - 2) + [Path.CLOSEPOLY]
    return PathPatch(Path(vertices, codes), **style)


def _map_axes(figure: Figure, bounds: Iterable[float], margin: float = 0.04):
    axes = _axes(figure)
    minx, miny, maxx, maxy = bounds
    pad = max(maxx - minx, maxy - miny) * margin
    axes.set_xlim(minx - pad, maxx + pad)
    axes.set_ylim(miny - pad, maxy + pad)
    axes.set_aspect("equal")
    axes.set_axis_off()
    return axes


def locator_svg(
    districts: list[tuple[str, shapely.Geometry]], region: shapely.Geometry, top: str | None
) -> str:
    """The city's districts, the region's own district shaded, the region in red."""
    figure = _figure(3.4, 2.8)
    everything = shapely.union_all([g for _, g in districts] + [region])
    axes = _map_axes(figure, everything.bounds)
    patches = [
        _patch(g, facecolor="#deebf7" if code == top else "#f7f7f7", edgecolor="#636363", lw=0.5)
        for code, g in districts
    ]
    axes.add_collection(PatchCollection(patches, match_original=True))
    axes.add_patch(_patch(region, facecolor=RED, edgecolor=RED, lw=0.8))
    return svg_of(figure)


def classes_map_svg(
    parts: list[tuple[str, shapely.Geometry, int | None]],
    class_labels: list[str],
    outline: shapely.Geometry,
) -> str:
    """Regions coloured by class (1 = best … n = worst, green to red), labelled with the last
    digits of their codes, a legend of the classes present."""
    n = max(len(class_labels), 1)
    colours = _ramp("RdYlGn_r", n)
    figure = _figure(5.2, 3.6)
    axes = _map_axes(figure, outline.bounds)
    for code, geometry, klass in parts:
        colour = colours[klass - 1] if klass and 1 <= klass <= n else "#ffffff"
        axes.add_patch(_patch(geometry, facecolor=colour, edgecolor="#525252", lw=0.6))
        point = geometry.representative_point()
        axes.annotate(code[-2:], (point.x, point.y), ha="center", va="center", fontsize=7)
    axes.add_patch(_patch(outline, facecolor="none", edgecolor="#000000", lw=1.2))
    handles = [
        PathPatch(Path([(0, 0), (1, 0), (1, 1), (0, 0)]), facecolor=c, edgecolor="#525252")
        for c in colours
    ]
    axes.legend(handles, class_labels, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return svg_of(figure)


def points_map_svg(
    outline: shapely.Geometry,
    parts: list[shapely.Geometry],
    points: list[tuple[str, shapely.Geometry]],
    names: dict[str, str],
) -> str:
    """Facilities inside a region as coloured dots by category, over the region's parts."""
    figure = _figure(5.2, 3.6)
    axes = _map_axes(figure, outline.bounds)
    for geometry in parts:
        axes.add_patch(_patch(geometry, facecolor="#f7f7f7", edgecolor="#bdbdbd", lw=0.5))
    axes.add_patch(_patch(outline, facecolor="none", edgecolor="#000000", lw=1.2))
    for i, category in enumerate(dict.fromkeys(c for c, _ in points)):
        xy = [(p.x, p.y) for c, p in points if c == category]
        axes.scatter(
            [x for x, _ in xy],
            [y for _, y in xy],
            s=14,
            color=CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)],
            edgecolors="white",
            linewidths=0.4,
            label=f"{names.get(category, category)} ({len(xy)})",
            zorder=3,
        )
    if points:
        axes.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False)
    return svg_of(figure)
