"""The locator map of a profile shows the districts nearest the region's own, at most
``LOCATOR_DISTRICTS`` of them: every district of a city, a bounded neighbourhood in a store
of many (at 100× Berlin it drew all 1,200 and took 1.5 s of the PDF)."""

from __future__ import annotations

from conftest import SRID
from geodata import grid, write

from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from layers.levels import levels_of
from layers.regions import find_region
from profiles.content import LOCATOR_DISTRICTS, _shapes


def _districts(engine, tmp_path, data_settings, count: int) -> list[str]:
    codes = [f"{i:03d}" for i in range(count)]
    path = write(grid(codes, size=500, columns=10), tmp_path / f"d{count}.gpkg")
    ingest_file(
        engine,
        str(path),
        FileLevel(system=f"many{count}", level="bezirk", fields=FieldMap("code", "name")),
        data_settings,
        srid=SRID,
    )
    with engine.connect() as conn:
        region = find_region(conn, f"many{count}", "000")
        shapes = _shapes(conn, region, None, [], levels_of(conn, region.level.system_id)[0])
    return [code for code, _ in shapes.districts]


def test_a_city_locator_shows_every_district(engine, tmp_path, data_settings):
    assert _districts(engine, tmp_path, data_settings, 12) == [f"{i:03d}" for i in range(12)]


def test_a_locator_in_a_store_of_many_shows_the_nearest(engine, tmp_path, data_settings):
    shown = _districts(engine, tmp_path, data_settings, LOCATOR_DISTRICTS + 40)
    assert len(shown) == LOCATOR_DISTRICTS
    # the region's own district (000, at the south-west corner) and its neighbours, not the
    # far rows of the grid
    assert "000" in shown and "001" in shown and "010" in shown
    assert f"{LOCATOR_DISTRICTS + 39:03d}" not in shown
