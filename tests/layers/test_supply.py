"""Supply and access: 2SFCA on a town small enough to compute by hand, coverage, and both on
the real Berlin Kitas."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SRID
from geodata import KITA_FIELDS, X0, Y0, kitas, load_town, settings_for, write
from shapely.geometry import Point

from ingest.facilities import ingest_facilities
from ingest.statistics import ingest_statistics_file
from layers.errors import InvalidParameter, NotFound
from layers.indicators import indicator_table
from layers.supply import coverage, two_step_fca
from spatial.settings import PROJECT_ROOT

PERIOD = date(2024, 6, 30)


@pytest.fixture
def town(engine, tmp_path, data_settings):
    """Three 1 km squares in a row (one Bezirksregion), 100/200/300 children, Kita A (50
    places) in the middle of the first square, Kita B (30 places) in the middle of the third."""
    load_town(engine, tmp_path, data_settings, SRID)
    table = tmp_path / "kinder.csv"
    table.write_text("Nr;U6\n010101;100\n010102;200\n010103;300\n", encoding="utf-8")
    ingest_statistics_file(
        engine,
        str(table),
        data_settings.model_copy(update={"catalog_dir": PROJECT_ROOT / "data" / "indicators"}),
        system="town",
        level="plr",
        code_column="Nr",
        columns={"U6": "inhabitants_age_below_6"},
        period=PERIOD,
    )
    places = kitas([Point(X0 + 500, Y0 + 500), Point(X0 + 2500, Y0 + 500)], ["50", "30"])
    write(places, tmp_path / "kitas.geojson")
    ingest_facilities(
        engine, "mini", settings_for(tmp_path, "kitas.geojson", **KITA_FIELDS), srid=SRID
    )
    return engine


def test_two_step_fca_by_hand(town):
    with town.connect() as conn:
        plr = two_step_fca(conn, "town", "plr", "kita", "inhabitants_age_below_6", radius_m=1500)
        bzr = two_step_fca(conn, "town", "bzr", "kita", "inhabitants_age_below_6", radius_m=1500)
        decayed = two_step_fca(
            conn, "town", "plr", "kita", "inhabitants_age_below_6", radius_m=1500, decay="linear"
        )
    # A reaches the first two squares (0 m, 1,000 m), B the last two (1,000 m, 0 m):
    # R_A = 50 / (100 + 200) = 1/6, R_B = 30 / (200 + 300) = 0.06 places per child
    # square 1: 1/6; square 2: 1/6 + 0.06; square 3: 0.06 — per 100 children:
    assert plr.rows["value"].tolist() == pytest.approx([100 / 6, 100 / 6 + 6, 6])
    assert plr.demand_period == PERIOD and plr.facility_period == date(2024, 6, 30)
    # every place reaches some child, so the demand-weighted mean is places per child: 80 / 600
    assert bzr.rows["value"].item() == pytest.approx(80 / 600 * 100)
    # linear decay, W(1000 m) = 1/3: R_A = 50 / (100 + 200/3) = 0.3, R_B = 30 / (200/3 + 300)
    r_a, r_b = 50 / (100 + 200 / 3), 30 / (200 / 3 + 300)
    expected = [r_a * 100, (r_a + r_b) / 3 * 100, r_b * 100]
    assert decayed.rows["value"].tolist() == pytest.approx(expected)


def test_coverage_by_hand(town):
    with town.connect() as conn:
        covered = coverage(conn, "town", "plr", "kita", 500).set_index("code")
    # a 500 m circle around the centre of a 1 km square lies inside it: π·500² / 1 km²
    circle = 3.141592653589793 * 500**2 / 1e6 * 100
    assert covered.loc["010101", "covered_share"] == pytest.approx(circle, rel=0.01)
    assert covered.loc["010102", "covered_share"] == 0
    assert covered["nearest_m"].tolist() == pytest.approx([0, 1000, 0])


def test_bad_parameters(town):
    with town.connect() as conn:
        with pytest.raises(InvalidParameter, match="unknown distance decay"):
            two_step_fca(
                conn, "town", "plr", "kita", "inhabitants_age_below_6", radius_m=500, decay="cubic"
            )
        with pytest.raises(InvalidParameter, match="radius must be between"):
            two_step_fca(conn, "town", "plr", "kita", "inhabitants_age_below_6", radius_m=0)
        with pytest.raises(NotFound, match="no facilities of category 'apotheke'"):
            two_step_fca(conn, "town", "plr", "apotheke", "inhabitants", radius_m=500)
        with pytest.raises(NotFound, match="no values of inhabitants in town"):
            two_step_fca(conn, "town", "plr", "kita", "inhabitants", radius_m=500)


@pytest.mark.mirror
def test_kita_access_and_coverage_in_berlin(berlin_engine):
    with berlin_engine.connect() as conn:
        plr = two_step_fca(
            conn, "berlin-lor-2021", "plr", "kita", "inhabitants_age_below_6", radius_m=1000
        )
        bezirk = two_step_fca(
            conn, "berlin-lor-2021", "bezirk", "kita", "inhabitants_age_below_6", radius_m=1000
        )
        ratio = indicator_table(
            conn, "berlin-lor-2021", "bezirk", "kita_places_per_100_u6", date(2022, 12, 31)
        )
        near = coverage(conn, "berlin-lor-2021", "plr", "kita", 500)
    assert plr.demand_period == date(2022, 12, 31) and len(plr.rows) == 542
    assert (plr.rows["status"] == "valid").sum() >= 536
    # catchments cross Bezirk boundaries, yet the Bezirk means stay near the simple ratios
    both = bezirk.rows.merge(ratio.rows, on="code", suffixes=("_fca", "_ratio"))
    assert ((both["value_fca"] / both["value_ratio"]) - 1).abs().median() < 0.15
    print("\nKita places per 100 children under 6 (2SFCA, 1 km) by Bezirk:")
    print(both[["code", "name_fca", "value_fca", "value_ratio"]].round(1).to_string())
    assert near["covered_share"].between(0, 100.0001).all()
    assert near["nearest_m"].median() < 500
