"""Boundary-version crosswalk LOR 2019 → LOR 2021 on the real data: the overlay, counts
re-apportioned by area and dasymetrically, totals conserved, and the error against the
population measured on the new Planungsräume."""

from __future__ import annotations

from datetime import date

import pytest

from layers.crosswalk import (
    apportion,
    build_crosswalk,
    compare_series,
    get_crosswalk,
    series_key,
)
from layers.errors import InvalidParameter, NotComputable, NotFound
from layers.indicators import get_indicator, indicator_table

OLD, NEW = "berlin-lor-2019", "berlin-lor-2021"
LEVELS = ["plr", "bzr", "pgr", "bezirk"]
OLD_PERIOD, NEW_PERIOD, REFERENCE = date(2020, 12, 31), date(2021, 6, 30), date(2022, 12, 31)

pytestmark = pytest.mark.mirror


@pytest.fixture
def conn(berlin_engine):
    """A connection whose writes are rolled back: the shared Berlin store stays as loaded."""
    with berlin_engine.connect() as connection:
        yield connection
        connection.rollback()


def test_overlay_and_reapportioned_population(conn):
    crosswalk = build_crosswalk(conn, OLD, NEW)
    print(
        f"\ncrosswalk {OLD} → {NEW}: {crosswalk.pieces} pieces, {crosswalk.slivers} slivers "
        f"dropped ({crosswalk.sliver_area_m2 / 1e6:.2f} km²)"
    )
    assert 448 < crosswalk.pieces < 2000
    assert get_crosswalk(conn, OLD, NEW) == crosswalk
    old_bezirk = indicator_table(conn, OLD, "bezirk", "inhabitants", OLD_PERIOD).rows
    figures = {}
    for weighting in ("area", "dasymetric"):
        written = apportion(
            conn, crosswalk, ["inhabitants"], weighting=weighting, reference_period=REFERENCE
        )
        assert written == {"inhabitants": 2 * 542}  # both old periods onto every new PLR
        key = series_key("inhabitants", OLD, weighting)
        meta = get_indicator(conn, key)
        assert f"crosswalk from {OLD}" in meta.definition["method"]
        assert "umgerechnet aus berlin-lor-2019" in meta.name_de
        new_bezirk = indicator_table(conn, NEW, "bezirk", key, OLD_PERIOD).rows
        # the version change kept the Bezirk boundaries: totals are conserved within 0.01 %
        deviation = (new_bezirk["value"].to_numpy() / old_bezirk["value"].to_numpy() - 1).max()
        assert abs(deviation) < 1e-4
        errors = compare_series(
            conn, NEW, (key, OLD_PERIOD), ("inhabitants", NEW_PERIOD), LEVELS
        ).set_index("level")
        figures[weighting] = errors
        print(f"\n{weighting} weighting, 12/2020 re-apportioned vs. measured 06/2021 (APE %):")
        print(errors.round(2).to_string())
    area, dasy = figures["area"], figures["dasymetric"]
    assert area.loc["plr", "regions"] >= 538
    # people live where people lived: density weighting beats area weighting on the PLR
    assert dasy.loc["plr", "p90_ape"] < area.loc["plr", "p90_ape"] / 2
    assert dasy.loc["plr", "median_ape"] < 2 and dasy.loc["plr", "p90_ape"] < 10
    assert dasy.loc["bezirk", "p90_ape"] < 2  # six months of real change, nothing more


def test_crosswalk_errors(conn):
    with pytest.raises(NotFound, match="no crosswalk"):
        get_crosswalk(conn, NEW, OLD)
    with pytest.raises(InvalidParameter, match="two different region systems"):
        build_crosswalk(conn, NEW, NEW)
    with pytest.raises(NotFound, match="unknown region system 'berlin-lor-1990'"):
        build_crosswalk(conn, "berlin-lor-1990", NEW)
    crosswalk = build_crosswalk(conn, OLD, NEW)
    with pytest.raises(InvalidParameter, match="unknown weighting"):
        apportion(conn, crosswalk, ["inhabitants"], weighting="population")
    with pytest.raises(InvalidParameter, match="needs a reference period"):
        apportion(conn, crosswalk, ["inhabitants"], weighting="dasymetric")
    with pytest.raises(
        NotFound, match=r"no values of inhabitants for 31\.12\.2020 in berlin-lor-2021"
    ):
        apportion(
            conn, crosswalk, ["inhabitants"], weighting="dasymetric", reference_period=OLD_PERIOD
        )
    with pytest.raises(NotComputable, match="cannot be re-apportioned"):
        apportion(conn, crosswalk, ["mss_s1_unemployment"], weighting="area")
    with pytest.raises(NotFound, match="no values of inhabitants_foreigners in berlin-lor-2019"):
        apportion(conn, crosswalk, ["share_foreigners"], weighting="area")
