"""Class breaks and colours for choropleth maps: breaks, counts per class, ColorBrewer colours
chosen from the indicator's polarity, German legend labels, and distinct entries for regions
without data and regions suppressed by the small-number rule.

Methods (mapclassify): ``quantiles``, ``equal_interval``, ``fisher_jenks`` (natural breaks),
``std_mean`` (standard deviations around the mean), ``manual`` (the caller's breaks) and
``fixed`` (an indicator's own classes: the labels of a ``class`` indicator, the thresholds of a
composite index).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from itertools import pairwise

import mapclassify
import numpy as np
import pandas as pd
from branca.utilities import color_brewer

from layers.composite import CompositeIndex
from layers.errors import InvalidParameter, NotComputable
from layers.meta import IndicatorMeta

JENKS_SAMPLE = 600  # values Fisher-Jenks looks at (about 0.4 s on 2 cores; it is quadratic)
METHODS = ("quantiles", "equal_interval", "fisher_jenks", "std_mean", "manual", "fixed")
MIN_CLASSES, MAX_CLASSES = 2, 9
NO_DATA_COLOUR = "#d9d9d9"
SUPPRESSED_COLOUR = "#969696"
NO_DATA_LABEL = "keine Daten"
SUPPRESSED_LABEL = "unterdrückt (zu wenige Einwohnende)"
# std_mean: multiples of the standard deviation that give k classes around the mean
_STD_MULTIPLES = {
    2: [0],
    3: [-1, 1],
    4: [-1, 0, 1],
    5: [-2, -1, 1, 2],
    6: [-2, -1, 0, 1, 2],
    7: [-3, -2, -1, 1, 2, 3],
    8: [-3, -2, -1, 0, 1, 2, 3],
    9: [-4, -3, -2, -1, 1, 2, 3, 4],
}


@dataclass
class LegendClass:
    label: str
    colour: str
    count: int
    lower: float | None = None
    upper: float | None = None


@dataclass
class Classification:
    """Classes of one indicator table: per region a class (or none) and a colour."""

    method: str
    scheme: str
    classes: list[LegendClass]
    breaks: list[float]
    region_class: pd.Series  # class number per row (0 …), -1 for no_data and suppressed
    region_colour: pd.Series
    extra: list[LegendClass] = field(default_factory=list)  # no_data, suppressed
    notes: list[str] = field(default_factory=list)
    # per break: whether a value equal to it belongs to the next class (a composite index's
    # "below" threshold); otherwise a break belongs to the class it closes
    exclusive: list[bool] = field(default_factory=list)

    def legend(self) -> dict:
        return {
            "method": self.method,
            "scheme": self.scheme,
            "breaks": self.breaks,
            "exclusive": self.exclusive,
            "classes": [c.__dict__ for c in self.classes],
            "other": [c.__dict__ for c in self.extra],
            "notes": self.notes,
        }


def classify(
    rows: pd.DataFrame,
    meta: IndicatorMeta,
    method: str = "quantiles",
    k: int = 5,
    breaks: list[float] | None = None,
) -> Classification:
    """Classify the valid values of ``rows`` (value, status per region)."""
    if method not in METHODS:
        raise InvalidParameter(f"unknown classification method {method!r}; one of {METHODS}")
    fixed = method == "fixed"
    if not fixed and method != "manual" and not MIN_CLASSES <= k <= MAX_CLASSES:
        raise InvalidParameter(f"number of classes must be {MIN_CLASSES}–{MAX_CLASSES}, not {k}")
    valid = (rows["status"] == "valid").to_numpy()
    values = rows["value"].to_numpy(float)[valid]
    notes: list[str] = []
    number = np.full(len(rows), -1)
    if fixed:
        upper, labels, number[valid], exclusive = _fixed_classes(meta, values)
    else:
        if values.size == 0:
            raise NotComputable(f"{meta.key}: no region has a value to classify")
        upper = _breaks(values, method, k, breaks, notes)
        labels = _range_labels(values.min(), upper, meta.decimals)
        found = np.searchsorted(np.asarray(upper, float), values, side="left")
        number[valid] = np.minimum(found, len(upper) - 1)  # upper bounds belong to their class
        exclusive = [False] * len(upper)
    scheme, colours = _colours(meta, len(labels), values, method)
    counts = np.bincount(number[valid], minlength=len(labels))
    if fixed:
        lower, upper_shown = [None] * len(labels), [None] * len(labels)
    else:
        lower, upper_shown = [float(values.min()), *upper[:-1]], list(upper)
    classes = [
        LegendClass(*entry)
        for entry in zip(labels, colours, map(int, counts), lower, upper_shown, strict=True)
    ]
    status = rows["status"].to_numpy()
    extra = [
        LegendClass(label, colour, int((status == key).sum()))
        for key, label, colour in (
            ("no_data", NO_DATA_LABEL, NO_DATA_COLOUR),
            ("suppressed", SUPPRESSED_LABEL, SUPPRESSED_COLOUR),
        )
        if (status == key).any()
    ]
    region_colour = np.where(
        status == "suppressed",
        SUPPRESSED_COLOUR,
        np.where(valid, np.asarray(colours, dtype=object)[np.maximum(number, 0)], NO_DATA_COLOUR),
    )
    return Classification(
        method=method,
        scheme=scheme,
        classes=classes,
        breaks=[float(b) for b in upper],
        exclusive=list(exclusive),
        region_class=pd.Series(number, index=rows.index),
        region_colour=pd.Series(region_colour, index=rows.index),
        extra=extra,
        notes=notes,
    )


def format_number(value: float, decimals: int = 0) -> str:
    """German number format: 1.234,5."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", " ").replace(".", ",").replace(" ", ".")


def _breaks(
    values: np.ndarray, method: str, k: int, manual: list[float] | None, notes: list[str]
) -> list[float]:
    distinct = np.unique(values).size
    if method == "manual":
        if not manual:
            raise InvalidParameter("manual classification needs breaks, e.g. breaks=10,20,30")
        if list(manual) != sorted(set(manual)):
            raise InvalidParameter("manual breaks must rise strictly")
        if not MIN_CLASSES <= len(manual) + 1 <= MAX_CLASSES:
            raise InvalidParameter(
                f"{len(manual)} breaks give {len(manual) + 1} classes; "
                f"allowed are {MIN_CLASSES}–{MAX_CLASSES}"
            )
        inner = [float(b) for b in manual if b < values.max()]
        return [*inner, float(values.max())]
    if distinct < k:
        notes.append(f"only {distinct} different values: {distinct} classes instead of {k}")
        k = max(distinct, 1)
        if k == 1:
            return [float(values.max())]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mapclassify warns about ties and missing numba
        if method == "quantiles":
            found = mapclassify.Quantiles(values, k=k)
        elif method == "equal_interval":
            found = mapclassify.EqualInterval(values, k=k)
        elif method == "fisher_jenks":
            found = mapclassify.FisherJenks(_jenks_sample(values, notes), k=k)
        else:
            found = mapclassify.StdMean(values, multiples=_STD_MULTIPLES[k])
    upper = sorted({float(b) for b in found.bins})
    if len(upper) < k:
        notes.append(f"ties in the values: {len(upper)} classes instead of {k}")
    return upper


def _jenks_sample(values: np.ndarray, notes: list[str]) -> np.ndarray:
    """Fisher-Jenks is quadratic in the number of values: above ``JENKS_SAMPLE`` the breaks
    come from evenly spaced order statistics (the same every time), minimum and maximum kept,
    so the top class still ends at the largest value."""
    if values.size <= JENKS_SAMPLE:
        return values
    ordered = np.sort(values)
    picked = ordered[np.linspace(0, ordered.size - 1, JENKS_SAMPLE).round().astype(int)]
    notes.append(f"natural breaks from {JENKS_SAMPLE} of {values.size} values")
    return picked


def _fixed_classes(
    meta: IndicatorMeta, values: np.ndarray
) -> tuple[list[float], list[str], np.ndarray, list[bool]]:
    """Breaks, labels, class numbers and which breaks are exclusive, from the indicator's own
    classes."""
    labels = meta.definition.get("class_labels")
    if labels:  # class indicators carry 1 … n
        numbers = values.astype(int) - 1
        return (
            [float(n) for n in range(1, len(labels) + 1)],
            list(labels),
            numbers,
            [False] * len(labels),
        )
    composite = meta.definition.get("composite")
    if composite and composite.get("part") == "index":
        index = CompositeIndex.model_validate(composite["index"])
        numbers = np.array([index.labels.index(index.classify(v)) for v in values], dtype=int)
        bounded = index.classes[:-1]
        thresholds = [c.below if c.below is not None else c.up_to for c in bounded]
        exclusive = [c.below is not None for c in bounded]
        return [float(t) for t in thresholds], index.labels, numbers, exclusive
    raise InvalidParameter(f"{meta.key} has no fixed classes; choose another method")


def _range_labels(minimum: float, upper: list[float], decimals: int) -> list[str]:
    bounds = [minimum, *upper]
    return [
        f"{format_number(lo, decimals)} – {format_number(hi, decimals)}"
        for lo, hi in pairwise(bounds)
    ]


def _colours(meta: IndicatorMeta, k: int, values: np.ndarray, method: str) -> tuple[str, list]:
    """ColorBrewer colours: diverging around a centre (std_mean, values on both sides of 0),
    else sequential; the 'bad' end is red whatever the direction of the indicator."""
    if meta.kind == "class" and k > 9:
        return "Paired", _brewer("Paired", k)
    spans_zero = values.size > 0 and values.min() < 0 < values.max()
    diverging = method == "std_mean" or spans_zero or meta.kind == "index"
    if diverging:
        scheme = "RdBu" if meta.polarity == "neutral" else "RdYlGn"
        colours = _brewer(scheme, k)
        if meta.polarity == "higher_is_worse":
            colours = colours[::-1]
        return scheme, colours
    scheme = {"higher_is_worse": "YlOrRd", "higher_is_better": "YlGnBu"}.get(meta.polarity, "Blues")
    return scheme, _brewer(scheme, k)


def _brewer(scheme: str, k: int) -> list[str]:
    # ColorBrewer defines 3 … 9 (11, 12) colours; two classes take the ends of three
    colours = color_brewer(scheme, max(k, 3))
    return [colours[0], colours[-1]] if k == 2 else colours[:k]
