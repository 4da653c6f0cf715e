"""Indicators at every level: aggregation rules, partial and suppressed regions, reference
values; on the real Berlin data and on a small generated town."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SRID
from geodata import load_town, load_town_values
from sqlalchemy import text

from layers.errors import NotComputable, NotFound
from layers.indicators import get_indicator, indicator_table, stored_periods
from layers.levels import get_level

LOR = "berlin-lor-2021"
LEVELS = ("plr", "bzr", "pgr", "bezirk")


@pytest.mark.mirror
def test_population_sums_agree_at_every_level_and_period(berlin_engine):
    with berlin_engine.connect() as conn:
        meta = get_indicator(conn, "inhabitants")
        periods = stored_periods(conn, meta, get_level(conn, LOR, "plr").system_id)
        assert len(periods) == 8
        for period in periods:
            totals = {}
            for level in LEVELS:
                table = indicator_table(conn, LOR, level, "inhabitants", period)
                rows = table.rows
                assert (rows["status"] == "valid").all() and not rows["partial"].any()
                totals[level] = rows["value"].sum()
            assert len(set(totals.values())) == 1, (period, totals)
            assert table.city_value == totals["plr"]
        assert periods[-1] == date(2024, 12, 31) and totals["plr"] == 3_897_145


@pytest.mark.mirror
def test_parent_values_and_shares_at_coarser_levels(berlin_engine):
    with berlin_engine.connect() as conn:
        plr = indicator_table(conn, LOR, "plr", "inhabitants", date(2024, 12, 31)).rows
        bzr = indicator_table(conn, LOR, "bzr", "inhabitants", date(2024, 12, 31)).rows
        share = indicator_table(conn, LOR, "bezirk", "share_foreigners", date(2024, 12, 31))
        foreigners = indicator_table(
            conn, LOR, "bezirk", "inhabitants_foreigners", date(2024, 12, 31)
        ).rows
        people = indicator_table(conn, LOR, "bezirk", "inhabitants", date(2024, 12, 31)).rows
    tiergarten = bzr.set_index("code").loc["011001", "value"]
    assert (plr.loc[plr["parent_code"] == "011001", "parent_value"] == tiergarten).all()
    expected = foreigners["value"].to_numpy() / people["value"].to_numpy() * 100
    assert share.rows["value"].to_numpy() == pytest.approx(expected)
    assert share.city_value == pytest.approx(
        foreigners["value"].sum() / people["value"].sum() * 100
    )


@pytest.mark.mirror
def test_rule_none_refuses_and_small_numbers_are_suppressed(berlin_engine):
    with berlin_engine.connect() as conn:
        with pytest.raises(NotComputable, match="rule is 'none'"):
            indicator_table(conn, LOR, "bzr", "mss_s1_unemployment", date(2020, 12, 31))
        with pytest.raises(NotFound, match="unknown indicator 'nonsense'"):
            indicator_table(conn, LOR, "plr", "nonsense", date(2020, 12, 31))
        with pytest.raises(NotFound, match=r"no values of inhabitants for 31\.12\.1999"):
            indicator_table(conn, LOR, "plr", "inhabitants", date(1999, 12, 31))
        s1 = indicator_table(conn, LOR, "plr", "mss_s1_unemployment", date(2020, 12, 31))
    rows = s1.rows.set_index("code")
    assert rows.loc["03300515", "status"] == "suppressed"  # 49 inhabitants
    assert rows["value"][rows["status"] != "valid"].isna().all()
    assert s1.city_value is None
    assert any("population of 30.06.2021" in n for n in s1.notes)


# -- a small town where ratio-of-sums and mean-of-shares differ -------------------------------


@pytest.fixture
def town(engine, tmp_path, data_settings):
    load_town(engine, tmp_path, data_settings, SRID)
    table = tmp_path / "ew.csv"
    table.write_text(
        "Nr;EW;Ausl;Anteil\n010101;100;50;50\n010102;1000;100;10\n010103;.;.;.\n",
        encoding="utf-8",
    )
    columns = {"EW": "inhabitants", "Ausl": "inhabitants_foreigners", "Anteil": "share_foreigners"}
    load_town_values(engine, table, data_settings, columns, date(2024, 12, 31))
    return engine


def test_share_aggregates_as_ratio_of_sums_not_mean_of_shares(town):
    with town.connect() as conn:
        plr = indicator_table(conn, "town", "plr", "share_foreigners", date(2024, 12, 31)).rows
        bzr = indicator_table(conn, "town", "bzr", "share_foreigners", date(2024, 12, 31))
        sums = indicator_table(conn, "town", "bzr", "inhabitants", date(2024, 12, 31)).rows
        assert conn.execute(text("SELECT count(*) FROM regions")).scalar_one() == 4
    assert plr["value"].tolist()[:2] == [50, 10] and plr["status"].tolist()[2] == "no_data"
    value = bzr.rows["value"].item()
    assert value == pytest.approx(150 / 1100 * 100)  # 13.6 %, where the mean of shares is 30 %
    assert bzr.rows["partial"].item()  # one Planungsraum has no data
    assert sums["value"].item() == 1100 and sums["partial"].item()
    assert bzr.city_value == pytest.approx(150 / 1100 * 100)


def test_a_region_of_unknown_population_is_suppressed(town, tmp_path, data_settings):
    """010103 has no population on record: its share may rest on very few people."""
    table = tmp_path / "mig.csv"
    table.write_text("Nr;Mig\n010101;20\n010102;30\n010103;40\n", encoding="utf-8")
    columns = {"Mig": "inhabitants_with_migration_background"}
    load_town_values(town, table, data_settings, columns, date(2024, 12, 31))
    with town.begin() as conn:
        conn.execute(
            text("UPDATE indicators SET min_population = 300 WHERE key = :k"),
            {"k": "inhabitants_with_migration_background"},
        )
        rows = indicator_table(
            conn, "town", "plr", "inhabitants_with_migration_background", date(2024, 12, 31)
        ).rows.set_index("code")
    assert rows["status"].to_dict() == {
        "010101": "suppressed",  # 100 inhabitants
        "010102": "valid",
        "010103": "suppressed",  # unknown
    }
    assert rows["value"].isna().tolist() == [True, False, True]


def test_a_ratio_sums_numerator_and_denominator_over_the_same_children(
    town, tmp_path, data_settings
):
    """010103 has inhabitants but no count of foreigners: the Bezirksregion's share is over
    the two Planungsräume that have both (150 / 1,100), flagged partial — not 150 / 1,600."""
    table = tmp_path / "ew2.csv"
    table.write_text("Nr;EW;Ausl\n010101;100;50\n010102;1000;100\n010103;500;.\n")
    columns = {"EW": "inhabitants", "Ausl": "inhabitants_foreigners"}
    load_town_values(town, table, data_settings, columns, date(2023, 12, 31))
    with town.connect() as conn:
        bzr = indicator_table(conn, "town", "bzr", "share_foreigners", date(2023, 12, 31))
    row = bzr.rows.iloc[0]
    assert row["value"] == pytest.approx(150 / 1100 * 100) and row["partial"]
    assert bzr.city_value == pytest.approx(150 / 1100 * 100)
