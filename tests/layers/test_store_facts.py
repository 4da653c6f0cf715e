"""Facts of a whole level or indicator that reads need, kept by the store as the data change
(migration 0014) instead of scanned on every cold request: the periods with values of an
indicator in a system, and each level's WGS 84 bounds. At 100× Berlin the scans cost 150 ms
(periods) and 250 ms (bounds) per cold tile."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import SRID
from geodata import load_town, load_town_values
from sqlalchemy import text

from layers.indicators import get_indicator, stored_periods
from layers.levels import get_level
from layers.regions import system_extent
from layers.sources import level_bounds

END_2023, END_2024 = date(2023, 12, 31), date(2024, 12, 31)


@pytest.fixture
def town(engine, tmp_path, data_settings):
    load_town(engine, tmp_path, data_settings, SRID)
    for period, people in ((END_2023, 90), (END_2024, 100)):
        table = tmp_path / f"ew-{period.year}.csv"
        table.write_text(f"Nr;EW\n010101;{people}\n010102;1000\n010103;5\n", encoding="utf-8")
        load_town_values(engine, table, data_settings, {"EW": "inhabitants"}, period)
    return engine


def _periods(conn) -> list[date]:
    meta = get_indicator(conn, "inhabitants")
    return stored_periods(conn, meta, get_level(conn, "town", "plr").system_id)


def test_the_periods_follow_loads_deletions_and_removed_regions(town):
    with town.begin() as conn:
        assert _periods(conn) == [END_2023, END_2024]
        kept = conn.execute(text("SELECT count(*) FROM statistic_periods")).scalar_one()
        assert kept == 2
        conn.execute(
            text(
                "DELETE FROM statistic_values v USING regions r WHERE r.id = v.region_id "
                "AND r.code = '010101' AND v.period = :p"
            ),
            {"p": END_2023},
        )
        assert _periods(conn) == [END_2023, END_2024]  # two regions still have 2023 values
        conn.execute(text("DELETE FROM statistic_values WHERE period = :p"), {"p": END_2023})
        assert _periods(conn) == [END_2024]
        # the values go with their regions (a cascade the values' own trigger cannot place)
        conn.execute(text("DELETE FROM regions WHERE code LIKE '0101__'"))
        assert _periods(conn) == []


def _extent(conn, level: str) -> tuple[float, ...]:
    return tuple(
        conn.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT "
                "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, :srid), 4326)::box2d AS e "
                "FROM regions r JOIN region_levels l ON l.id = r.level_id WHERE l.key = :l) x"
            ),
            {"srid": SRID, "l": level},
        ).one()
    )


def test_each_level_keeps_its_bounds(town):
    with town.begin() as conn:
        plr = get_level(conn, "town", "plr")
        assert level_bounds(conn, plr.id) == pytest.approx(_extent(conn, "plr"))
        # the map opens on the coarsest level (a square of 3 km over the row of 1 km squares)
        assert system_extent(conn, "town") == pytest.approx(_extent(conn, "bzr"))
        assert _extent(conn, "bzr") != pytest.approx(_extent(conn, "plr"))
        conn.execute(text("DELETE FROM regions WHERE level_id = :l"), {"l": plr.id})
        assert level_bounds(conn, plr.id) == (-180.0, -90.0, 180.0, 90.0)


def test_a_level_without_a_main_part_opens_on_all_of_it(engine, tmp_path, data_settings):
    """A store of 200 equal districts has no part of 1 % of the area: the map opened on the
    whole of Germany instead of on them."""
    from geodata import grid, write

    from ingest.jobs import FileLevel, ingest_file
    from ingest.readers import FieldMap

    path = write(grid([f"{i:03d}" for i in range(200)], size=500, columns=20), tmp_path / "m.gpkg")
    ingest_file(
        engine,
        str(path),
        FileLevel(system="many", level="bezirk", fields=FieldMap("code", "name")),
        data_settings,
        srid=SRID,
    )
    with engine.connect() as conn:
        assert system_extent(conn, "many") == pytest.approx(_extent(conn, "bezirk"))
