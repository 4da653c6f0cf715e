"""Class breaks, counts and colours for maps: every method, the fixed classes of class
indicators and composite indices, and regions without data or suppressed."""

from __future__ import annotations

import time
from datetime import date

import numpy as np
import pandas as pd
import pytest

from layers.classify import (
    NO_DATA_COLOUR,
    SUPPRESSED_COLOUR,
    classify,
    format_number,
)
from layers.errors import InvalidParameter
from layers.indicators import IndicatorMeta, indicator_table


def meta(polarity="neutral", kind="rate", decimals=1, **definition) -> IndicatorMeta:
    return IndicatorMeta(
        id=0, key="x", name_de="X", unit="%", kind=kind, aggregation="sum", numerator=None,
        denominator=None, weight=None, decimals=decimals, polarity=polarity, min_population=None,
        definition=definition,
    )  # fmt: skip


def frame(values, statuses=None) -> pd.DataFrame:
    statuses = statuses or ["valid"] * len(values)
    return pd.DataFrame({"value": values, "status": statuses})


VALUES = [float(v) for v in range(1, 21)]  # 1 … 20


def test_quantiles_equal_interval_and_manual():
    q = classify(frame(VALUES), meta(), "quantiles", 4)
    assert [c.count for c in q.classes] == [5, 5, 5, 5]
    assert q.breaks == [5.75, 10.5, 15.25, 20.0]
    e = classify(frame(VALUES), meta(), "equal_interval", 4)
    assert e.breaks == pytest.approx([5.75, 10.5, 15.25, 20.0])
    m = classify(frame(VALUES), meta(decimals=0), "manual", breaks=[2, 10])
    assert m.breaks == [2, 10, 20] and [c.count for c in m.classes] == [2, 8, 10]
    assert [c.label for c in m.classes] == ["1 – 2", "2 – 10", "10 – 20"]
    assert m.region_class.tolist()[:3] == [0, 0, 1]  # upper bounds belong to their class


def test_fisher_jenks_finds_natural_groups_and_std_mean_centres():
    values = [1.0, 1.1, 1.2, 5.0, 5.1, 5.2, 9.0, 9.1, 9.3]
    jenks = classify(frame(values), meta(), "fisher_jenks", 3)
    assert jenks.breaks == [1.2, 5.2, 9.3] and [c.count for c in jenks.classes] == [3, 3, 3]
    std = classify(frame(VALUES), meta(polarity="higher_is_worse"), "std_mean", 4)
    mean, sd = np.mean(VALUES), np.std(VALUES, ddof=1)  # mapclassify: sample sd
    assert std.breaks[:3] == pytest.approx([mean - sd, mean, mean + sd])
    assert std.scheme == "RdYlGn" and std.classes[-1].colour == "#d7191c"  # worst end red


def test_fisher_jenks_of_a_large_level_is_bounded():
    """54,200 values (100× Berlin's Planungsräume): breaks from a fixed sample, in well under a
    second, the top class ending at the maximum, natural groups still found."""
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.normal(mu, 0.2, 18_066) for mu in (1.0, 5.0, 9.0)])
    values = np.append(values, [12.5, 12.6])
    started = time.perf_counter()
    jenks = classify(frame(values.tolist()), meta(), "fisher_jenks", 3)
    elapsed = time.perf_counter() - started
    assert elapsed < 3  # unbounded: minutes
    assert jenks.breaks[-1] == pytest.approx(values.max())
    assert 1 < jenks.breaks[0] < 2 and 5 < jenks.breaks[1] < 9.5  # upper bounds of groups
    assert sum(c.count for c in jenks.classes) == values.size
    assert any("600 of 54200 values" in n for n in jenks.notes)


def test_no_data_and_suppressed_regions_are_drawn_apart():
    rows = frame(
        [1.0, 2.0, None, None, 3.0, 4.0],
        ["valid", "valid", "no_data", "suppressed"] + ["valid"] * 2,
    )
    c = classify(rows, meta(polarity="higher_is_better"), "quantiles", 2)
    assert c.region_class.tolist() == [0, 0, -1, -1, 1, 1]
    assert c.region_colour[2] == NO_DATA_COLOUR and c.region_colour[3] == SUPPRESSED_COLOUR
    assert {e.label: e.count for e in c.extra} == {
        "keine Daten": 1,
        "unterdrückt (zu wenige Einwohnende)": 1,
    }
    assert c.scheme == "YlGnBu" and len({*c.region_colour}) == 4
    assert sum(cl.count for cl in c.classes) == 4


@pytest.mark.parametrize(
    ("method", "k", "breaks", "message"),
    [
        ("quantiles", 1, None, "number of classes must be 2–9"),
        ("fisher_jenks", 10, None, "number of classes must be 2–9"),
        ("jenks", 5, None, "unknown classification method"),
        ("manual", 5, None, "manual classification needs breaks"),
        ("manual", 5, [3, 2], "must rise strictly"),
        ("manual", 5, list(range(1, 10)), "give 10 classes"),
        ("fixed", 5, None, "has no fixed classes"),
    ],
)
def test_bad_parameters_are_refused(method, k, breaks, message):
    with pytest.raises(InvalidParameter, match=message):
        classify(frame(VALUES), meta(), method, k, breaks)


def test_ties_reduce_the_classes_with_a_note():
    c = classify(frame([1.0, 1.0, 1.0, 2.0, 2.0]), meta(), "quantiles", 5)
    assert len(c.classes) == 2 and "2 classes instead of 5" in c.notes[0]


def test_german_number_format():
    assert format_number(1234567.891, 2) == "1.234.567,89"
    assert format_number(-0.5, 1) == "-0,5"


@pytest.mark.mirror
def test_classes_on_berlin(berlin_engine):
    with berlin_engine.connect() as conn:
        share = indicator_table(
            conn, "berlin-lor-2021", "plr", "share_age_below_6", date(2024, 12, 31)
        )
        status = indicator_table(
            conn, "berlin-lor-2021", "plr", "mss_status_index", date(2020, 12, 31)
        )
        classes = indicator_table(
            conn, "berlin-lor-2021", "plr", "mss_status_index_class", date(2020, 12, 31)
        )
    jenks = classify(share.rows, share.indicator, "fisher_jenks", 5)
    valid = (share.rows["status"] == "valid").sum()
    assert sum(c.count for c in jenks.classes) == valid and len(jenks.breaks) == 5
    assert jenks.scheme == "Blues" and jenks.classes[0].label.count(",") == 2  # decimal commas
    by_index = classify(status.rows, status.indicator, "fixed")
    by_class = classify(classes.rows, classes.indicator, "fixed")
    expected = {"hoch": 75, "mittel": 366, "niedrig": 46, "sehr niedrig": 49}
    assert {c.label: c.count for c in by_index.classes} == expected
    assert {c.label: c.count for c in by_class.classes} == expected
    assert {e.label: e.count for e in by_class.extra} == {"keine Daten": 6}
    print("Fisher-Jenks breaks, share under 6 (PLR 12/2024):", jenks.breaks)
