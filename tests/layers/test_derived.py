"""Derived indicators: the formula language, its errors, and the catalog formulas on the real
Berlin data (shares as ratio of sums at every level, supply ratios, changes over time)."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest

from ingest.catalog import Catalog, Indicator, upsert_catalog
from layers.derived import ExpressionError, parse, references, shift
from layers.errors import NotComputable, NotFound
from layers.indicators import get_indicator, indicator_table, stored_periods
from layers.levels import get_level
from layers.registry import check_formulas

LOR = "berlin-lor-2021"


@pytest.mark.parametrize(
    ("formula", "message"),
    [
        ("__import__('os')", "unknown function '__import__'"),
        ("__import__('os').system('true')", "not allowed in an expression"),
        ("inhabitants.real", "not allowed in an expression"),
        ("inhabitants ** 2", "not allowed in an expression"),
        ("change(inhabitants, -6)", "whole number of months"),
        ("change(inhabitants + 1, 6)", "must be an indicator name"),
        ("at(inhabitants, '31.12.2021')", 'needs a date like "2021-12-31"'),
        ("change_2y(inhabitants, 12)", "takes 1 argument"),
        ("inhabitants /", "cannot read"),
        ("'text'", "not allowed in an expression"),
    ],
)
def test_formulas_outside_the_language_are_refused(formula, message):
    with pytest.raises(ExpressionError, match=re.escape(message)):
        parse(formula)


def test_references_and_period_shifts():
    refs = references("rel_change_2y(inhabitants) + at(kita_places, '2022-12-31') / nearest(x)")
    assert [(r.name, r.months, r.fixed, r.nearest) for r in refs] == [
        ("inhabitants", 0, None, False),
        ("inhabitants", 24, None, False),
        ("kita_places", 0, date(2022, 12, 31), False),
        ("x", 0, None, True),
    ]
    assert shift(date(2024, 12, 31), 24) == date(2022, 12, 31)
    assert shift(date(2024, 6, 30), 6) == date(2023, 12, 31)
    assert shift(date(2024, 3, 31), 1) == date(2024, 2, 29)  # month end stays month end
    assert shift(date(2024, 3, 15), 1) == date(2024, 2, 15)


def test_cycles_between_formulas_are_refused():
    def derived(key, expression):
        return Indicator(
            key=key, topic="T", name_de=key, name_en=key, unit="", kind="rate",
            aggregation="derived", expression=expression,
        )  # fmt: skip

    with pytest.raises(NotComputable, match="cycle"):
        check_formulas([derived("a", "b + 1"), derived("b", "a * 2")])
    check_formulas([derived("a", "b + 1"), derived("b", "inhabitants * 2")])


@pytest.mark.mirror
def test_shares_are_ratios_of_sums_at_every_level(berlin_engine):
    period = date(2024, 12, 31)
    with berlin_engine.connect() as conn:
        for level in ("plr", "bzr", "pgr", "bezirk"):
            share = indicator_table(conn, LOR, level, "share_age_below_6", period)
            young = indicator_table(conn, LOR, level, "inhabitants_age_below_6", period).rows
            people = indicator_table(conn, LOR, level, "inhabitants", period).rows
            inhabited = people["value"].to_numpy() > 0  # a few PLR have nobody living there
            expected = young["value"].to_numpy()[inhabited] / people["value"].to_numpy()[inhabited]
            assert share.rows["value"].to_numpy()[inhabited] == pytest.approx(expected * 100)
            assert (share.rows["status"][~inhabited] == "no_data").all()
        assert share.city_value == pytest.approx(young["value"].sum() / people["value"].sum() * 100)


@pytest.mark.mirror
def test_supply_ratios_and_changes_on_berlin(berlin_engine):
    with berlin_engine.connect() as conn:
        kita = indicator_table(conn, LOR, "bezirk", "kita_places_per_100_u6", date(2022, 12, 31))
        u6 = indicator_table(conn, LOR, "bezirk", "inhabitants_age_below_6", date(2022, 12, 31))
        plr = indicator_table(conn, LOR, "plr", "kita_places_per_100_u6", date(2022, 12, 31))
        nursing = indicator_table(
            conn, LOR, "bezirk", "nursing_places_per_1000_65plus", date(2023, 7, 31)
        )
        change = indicator_table(conn, LOR, "bzr", "inhabitants_change_2y", date(2024, 12, 31))
        now = indicator_table(conn, LOR, "bzr", "inhabitants", date(2024, 12, 31)).rows
        then = indicator_table(conn, LOR, "bzr", "inhabitants", date(2022, 12, 31)).rows
        periods = stored_periods(
            conn,
            get_indicator(conn, "inhabitants_change_2y"),
            get_level(conn, LOR, "plr").system_id,
        )
        with pytest.raises(NotFound, match=r"no values of inhabitants for 30\.06\.2019"):
            indicator_table(conn, LOR, "plr", "inhabitants_change_2y", date(2021, 6, 30))
    # 194,979 Kita places in Berlin for the children under 6 of 31.12.2022
    assert kita.city_value == pytest.approx(194_979 / u6.city_value * 100)
    print(f"Kita places per 100 children under 6, Berlin 12/2022: {kita.city_value:.1f}")
    assert 60 < kita.city_value < 120 and (kita.rows["status"] == "valid").all()
    statuses = plr.rows["status"].value_counts().to_dict()
    assert statuses.get("suppressed", 0) > 0 and not np.isinf(plr.rows["value"]).any()
    assert any("30.06.2023" in note for note in nursing.notes)  # nearest population period
    assert 20 < nursing.city_value < 80
    expected = now["value"].to_numpy() - then["value"].to_numpy()
    assert change.rows["value"].to_numpy() == pytest.approx(expected)
    assert periods == [date(2023, 6, 30), date(2023, 12, 31), date(2024, 6, 30), date(2024, 12, 31)]


@pytest.mark.mirror
def test_division_by_zero_and_unknown_names_give_clear_results(berlin_engine):
    catalog = Catalog(
        key="test-derived",
        source="test",
        licence="test",
        attribution="test",
        indicators=[
            Indicator(
                key="test_zero_division", topic="T", name_de="T", name_en="T", unit="",
                kind="rate", aggregation="derived",
                expression="inhabitants / (inhabitants - inhabitants)",
            ),
            Indicator(
                key="test_unknown_name", topic="T", name_de="T", name_en="T", unit="",
                kind="rate", aggregation="derived", expression="inhabitants / nobody",
            ),
        ],
    )  # fmt: skip
    period = date(2024, 12, 31)
    with berlin_engine.connect() as conn:
        upsert_catalog(conn, catalog)
        table = indicator_table(conn, LOR, "bzr", "test_zero_division", period)
        assert (table.rows["status"] == "no_data").all() and table.rows["value"].isna().all()
        assert table.city_value is None
        with pytest.raises(NotFound, match="test_unknown_name uses unknown indicator 'nobody'"):
            indicator_table(conn, LOR, "bzr", "test_unknown_name", period)
        conn.rollback()  # the catalog of this test is not kept


@pytest.mark.mirror
def test_composite_indices_are_catalog_indicators(berlin_engine):
    with berlin_engine.connect() as conn:
        combined = indicator_table(conn, LOR, "plr", "mss_class", date(2020, 12, 31))
        meta = get_indicator(conn, "mss_class")
    rows = combined.rows.set_index("code")
    labels = meta.definition["class_labels"]
    assert len(labels) == 12 and labels[0] == "Status hoch, Dynamik positiv"
    assert labels[int(rows.loc["01100101", "value"]) - 1] == "Status mittel, Dynamik negativ"
    assert (rows["status"] == "valid").sum() == 536
