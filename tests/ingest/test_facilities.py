"""Facilities ingest: the real Berlin files, and bad or awkward input on generated data."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest
from conftest import SRID, assert_nothing_written
from geodata import KITA_FIELDS, X0, Y0, grid, kitas, settings_for, write
from shapely.geometry import MultiPoint, Point
from sqlalchemy import text

from ingest.facilities import ingest_facilities
from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from layers.indicators import get_indicator, indicator_table, stored_periods
from layers.levels import get_level

EXPECTED = {
    "kita": 2880,
    "schule": 902,
    "jugendfreizeiteinrichtung": 407,
    "pflegeeinrichtung": 274,
    "apotheke": 732,
}


def query(engine, sql: str, **params) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(text(sql), conn, params=params)


def derived(engine, key: str) -> pd.DataFrame:
    """Values of one facility-derived indicator by region code."""
    return query(
        engine,
        "SELECT r.code, v.value, v.status FROM statistic_values v JOIN regions r ON "
        "r.id = v.region_id JOIN indicators i ON i.id = v.indicator_id "
        "WHERE i.key = :key ORDER BY 1",
        key=key,
    )


@pytest.mark.mirror
def test_berlin_facility_counts_and_places(berlin_engine, mirror):
    counts = query(berlin_engine, "SELECT category, count(*) AS n FROM facilities GROUP BY 1")
    assert dict(zip(counts["category"], counts["n"], strict=True)) == EXPECTED
    runs = query(
        berlin_engine,
        "SELECT source, report->>'outside' AS outside FROM ingest_runs WHERE kind = 'facilities'",
    )
    assert (runs["outside"] == "0").all(), runs
    source = pyogrio.read_dataframe(mirror / "berlin/facilities/kindertagesstaetten.geojson")
    places = query(berlin_engine, "SELECT sum(capacity) FROM facilities WHERE category = 'kita'")
    assert int(places.iat[0, 0]) == source["e_platz"].astype(int).sum() == 194_979
    zero = query(berlin_engine, "SELECT count(*) FROM facilities WHERE capacity = 0")
    assert int(zero.iat[0, 0]) == 4 + 16  # 4 Kitas and 16 youth facilities say 0 places


@pytest.mark.mirror
def test_every_kita_lies_in_one_region_per_level_and_levels_agree(berlin_engine):
    per_level = query(
        berlin_engine,
        """
        SELECT s.key AS system, l.key AS level, count(*) AS n, count(DISTINCT fr.facility_id) AS f
        FROM facility_regions fr JOIN facilities f ON f.id = fr.facility_id
        JOIN region_levels l ON l.id = fr.level_id JOIN region_systems s ON s.id = l.system_id
        WHERE f.category = 'kita' GROUP BY 1, 2
        """,
    )
    assert len(per_level) == 6  # 4 levels of LOR 2021, 2 of LOR 2019
    assert (per_level["n"] == 2880).all() and (per_level["f"] == 2880).all()
    # the Bezirksregion of each Kita is the parent of its Planungsraum
    mismatched = query(
        berlin_engine,
        """
        SELECT count(*) FROM facility_regions a
        JOIN regions plr ON plr.id = a.region_id
        JOIN region_levels la ON la.id = a.level_id AND la.key = 'plr'
        JOIN region_systems s ON s.id = la.system_id AND s.key = 'berlin-lor-2021'
        JOIN facility_regions b ON b.facility_id = a.facility_id
        JOIN region_levels lb ON lb.id = b.level_id AND lb.key = 'bzr'
        JOIN regions bzr ON bzr.id = b.region_id
        WHERE bzr.code <> plr.parent_code
        """,
    )
    assert mismatched.iat[0, 0] == 0


@pytest.mark.mirror
def test_derived_indicators_sum_to_the_city_at_every_level(berlin_engine):
    sums = query(
        berlin_engine,
        """
        SELECT i.key, l.key AS level, i.catalog, i.unit, sum(v.value) AS total, count(*) AS n
        FROM statistic_values v JOIN indicators i ON i.id = v.indicator_id
        JOIN regions r ON r.id = v.region_id JOIN region_levels l ON l.id = r.level_id
        JOIN region_systems s ON s.id = r.system_id
        WHERE s.key = 'berlin-lor-2021' AND i.catalog = 'facilities' GROUP BY 1, 2, 3, 4
        """,
    )
    for category, n in EXPECTED.items():
        counted = sums[sums["key"] == f"{category}_count"]
        assert len(counted) == 4 and (counted["total"] == n).all(), counted
    places = sums[sums["key"] == "kita_places"]
    assert (places["total"] == 194_979).all() and set(places["unit"]) == {"Plätze"}
    assert dict(zip(places["level"], places["n"], strict=True)) == {
        "bezirk": 12,
        "pgr": 58,
        "bzr": 143,
        "plr": 542,
    }
    assert sums[sums["key"] == "schule_pupils"].empty  # the school file has no pupil numbers


@pytest.mark.mirror
def test_pharmacies_multipoints_become_points_with_attributes(berlin_engine):
    row = query(
        berlin_engine,
        "SELECT ST_GeometryType(geom) AS t, address, attributes::text AS attrs, valid_on "
        "FROM facilities WHERE source_id = 'DEBE00YY2DG0003W'",
    ).iloc[0]
    assert row["t"] == "ST_Point"
    assert row["address"] == "Stromstraße 14, 10551 Berlin"
    # what the common model does not hold stays as attributes (the address parts too)
    assert json.loads(row["attrs"]) == {
        "gc_strasse": "Stromstraße",
        "gc_haus": "14",
        "gc_plz": "10551",
        "gc_ortsteil": "Moabit",
    }
    assert row["valid_on"] is None  # the source states no date
    kita = query(
        berlin_engine,
        "SELECT name, address, provider FROM facilities WHERE source_id = '01010010'",
    ).iloc[0]
    assert kita["name"] == "Kita F.A.I.R.play"
    assert kita["address"] == "Albrechtstr. 20, 10117 Berlin"
    assert kita["provider"].startswith("GFJ")


# -- generated data ---------------------------------------------------------------------------

CODES = ["01100101", "01100102", "02200201", "02200202"]


@pytest.fixture
def small_store(engine, tmp_path, data_settings):
    plr = grid(CODES)
    ingest_file(
        engine,
        str(write(plr, tmp_path / "plr.gpkg")),
        FileLevel(system="mini", level="plr", fields=FieldMap("code", "name", code_length=8)),
        data_settings,
        srid=SRID,
    )
    return engine


def rejected(engine, settings, *fragments) -> str:
    return assert_nothing_written(
        engine, lambda: ingest_facilities(engine, "mini", settings, srid=SRID), *fragments
    )


def test_multipoint_with_several_points_is_refused(small_store, tmp_path):
    geoms = [
        MultiPoint([(X0 + 100, Y0 + 100)]),
        MultiPoint([(X0 + 200, Y0 + 200), (X0 + 1200, Y0 + 200)]),
    ]
    write(kitas(geoms, ["10", "20"]), tmp_path / "kitas.geojson")
    rejected(
        small_store,
        settings_for(tmp_path, "kitas.geojson", **KITA_FIELDS),
        "feature 1",
        "MultiPoint (id K1) with 2 points",
    )


def test_lonlat_table_without_crs_is_refused(small_store, tmp_path):
    (tmp_path / "kitas.csv").write_text(
        "nr;name;plaetze;lon;lat\nK1;Kita Eins;40;13,3889;52,5170\n", encoding="utf-8"
    )
    fields = {**KITA_FIELDS, "x_field": "lon", "y_field": "lat", "decimal": ","}
    rejected(
        small_store,
        settings_for(tmp_path, "kitas.csv", **fields),
        "kitas.csv: the file has no CRS",
        "look like longitude/latitude",
    )


def test_lonlat_shapefile_without_prj_is_refused(small_store, tmp_path):
    frame = kitas([Point(X0 + 10, Y0 + 10)], ["3"]).to_crs("EPSG:4326")
    write(frame, tmp_path / "kitas.shp")
    (tmp_path / "kitas.prj").unlink()
    rejected(
        small_store,
        settings_for(tmp_path, "kitas.shp", **KITA_FIELDS),
        "kitas.shp: the file has no CRS",
        "crs = 'EPSG:4326'",
    )


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".fgb"])
def test_point_formats_in_another_crs(small_store, tmp_path, suffix):
    frame = kitas([Point(X0 + 10, Y0 + 10), Point(X0 + 1010, Y0 + 1010)], ["3", "4"])
    write(frame.to_crs("EPSG:3035"), tmp_path / f"kitas{suffix}")
    result = ingest_facilities(
        small_store, "mini", settings_for(tmp_path, f"kitas{suffix}", **KITA_FIELDS), srid=SRID
    )
    assert result.counts == {"kita": 2} and result.details["outside"] == 0
    assert derived(small_store, "kita_places")["value"].tolist() == [3, 0, 0, 4]


def test_lonlat_labelled_as_utm_is_refused(small_store, tmp_path):
    (tmp_path / "kitas.csv").write_text(
        "nr,name,plaetze,x,y\nK1,Kita Eins,40,13.3889,52.5170\n", encoding="utf-8"
    )
    fields = {**KITA_FIELDS, "x_field": "x", "y_field": "y", "crs": "EPSG:25833"}
    rejected(small_store, settings_for(tmp_path, "kitas.csv", **fields), "area of use")


def test_duplicate_ids_and_unknown_category_are_refused(small_store, tmp_path):
    frame = kitas([Point(X0 + 10, Y0 + 10), Point(X0 + 20, Y0 + 20)], ["1", "2"])
    frame["nr"] = ["K1", "K1"]
    write(frame, tmp_path / "kitas.geojson")
    rejected(
        small_store,
        settings_for(tmp_path, "kitas.geojson", **KITA_FIELDS),
        "duplicate id 'K1' in features 0, 1",
    )
    write(kitas([Point(X0 + 10, Y0 + 10)], ["1"]), tmp_path / "kitas.geojson")
    rejected(
        small_store,
        settings_for(tmp_path, "kitas.geojson", **{**KITA_FIELDS, "category": "zoo"}),
        "unknown facility categories zoo",
    )


def test_cp1252_table_in_utm_with_text_capacities(small_store, tmp_path):
    def de(number: float) -> str:
        return f"{number:.1f}".replace(".", ",")

    rows = [
        "Nr;Art;Name;Plätze;Straße;X;Y",
        f"1;Kita;Kita Sonnenschein;ca. 40 Plätze;Müllerstraße 1;{de(X0 + 100)};{de(Y0 + 100)}",
        f"2;Kita;Kita Regenbogen;1.020;Hauptstraße 2;{de(X0 + 1500)};{de(Y0 + 100)}",
        f"3;JFE;Jugendclub;;Parkweg 3;{de(X0 + 1500)};{de(Y0 + 1500)}",
        f"4;Kita;Kita Draußen;25;Feldweg 4;{de(X0 - 5000)};{de(Y0)}",
    ]
    (tmp_path / "mix.csv").write_bytes("\n".join(rows).encode("cp1252"))
    settings = settings_for(
        tmp_path,
        "mix.csv",
        category_field="Art",
        category_map={"Kita": "kita", "JFE": "jugendfreizeiteinrichtung"},
        id_field="Nr",
        name_field="Name",
        capacity_field="Plätze",
        address="{Straße}, Berlin",
        x_field="X",
        y_field="Y",
        decimal=",",
        crs="EPSG:25833",
    )
    result = ingest_facilities(small_store, "mini", settings, srid=SRID)
    assert result.counts == {"kita": 3, "jugendfreizeiteinrichtung": 1}
    assert result.details["outside"] == 1
    assert any("read from text" in n and "'ca. 40 Plätze' → 40" in n for n in result.notes)
    assert any("1 facilities lie outside every region: 4 'Kita Draußen'" in n for n in result.notes)
    stored = query(small_store, "SELECT source_id, capacity, address FROM facilities ORDER BY 1")
    assert stored["capacity"].tolist()[:2] == [40, 1020] and pd.isna(stored["capacity"][2])
    assert stored["address"][0] == "Müllerstraße 1, Berlin"
    # the outside Kita counts nowhere
    assert derived(small_store, "kita_places")["value"].tolist() == [40, 1020, 0, 0]
    assert derived(small_store, "jugendfreizeiteinrichtung_count")["value"].tolist() == [0, 0, 0, 1]


def test_a_capacity_sum_with_unknown_capacities_is_partial(small_store, tmp_path):
    rows = [
        "Nr;Art;Name;Plätze;X;Y",
        f"1;Kita;Kita Eins;40;{X0 + 100};{Y0 + 100}",
        f"2;Kita;Kita Zwei;;{X0 + 200};{Y0 + 200}",  # capacity unknown
        f"3;Kita;Kita Drei;25;{X0 + 1500};{Y0 + 100}",
    ]
    (tmp_path / "kitas.csv").write_text("\n".join(rows), encoding="utf-8")
    settings = settings_for(
        tmp_path,
        "kitas.csv",
        category_field="Art",
        category_map={"Kita": "kita"},
        id_field="Nr",
        name_field="Name",
        capacity_field="Plätze",
        x_field="X",
        y_field="Y",
        crs="EPSG:25833",
    )
    ingest_facilities(small_store, "mini", settings, srid=SRID)
    places = query(
        small_store,
        "SELECT r.code, v.value, v.status, v.partial FROM statistic_values v JOIN regions r "
        "ON r.id = v.region_id JOIN indicators i ON i.id = v.indicator_id "
        "WHERE i.key = 'kita_places' ORDER BY 1",
    )
    assert places["value"].tolist()[:2] == [40, 25]
    assert places["partial"].tolist() == [True, False, False, False]  # 40 of two Kitas
    with small_store.connect() as conn:
        level = get_level(conn, "mini", "plr")
        period = stored_periods(conn, get_indicator(conn, "kita_places"), level.system_id)[-1]
        table = indicator_table(conn, "mini", "plr", "kita_places", period)
    assert table.rows["partial"].tolist()[0]


def test_same_file_twice_is_a_noop_and_changed_needs_force(small_store, tmp_path):
    path = tmp_path / "kitas.geojson"
    write(kitas([Point(X0 + 10, Y0 + 10), Point(X0 + 1010, Y0 + 10)], ["5", "7"]), path)
    settings = settings_for(tmp_path, "kitas.geojson", **KITA_FIELDS)
    first = ingest_facilities(small_store, "mini", settings, srid=SRID)
    again = ingest_facilities(small_store, "mini", settings, srid=SRID)
    assert again.skipped and again.run_id == first.run_id
    write(kitas([Point(X0 + 10, Y0 + 1010)], ["9"]), path)
    rejected(small_store, settings, "already loaded from different data", "--force")
    forced = ingest_facilities(small_store, "mini", settings, srid=SRID, force=True)
    assert forced.counts == {"kita": 1}
    assert derived(small_store, "kita_count")["value"].tolist() == [0, 0, 1, 0]


def test_wfs_source_and_regions_loaded_after_the_facilities(
    engine, server, tmp_path, data_settings
):
    base, root, requests = server
    write(kitas([Point(X0 + 10, Y0 + 10)], ["12"]), root / "kita.geojson")
    lines = [
        'key = "wfs-kitas"',
        'title = "WFS Kitas"',
        'category = "kita"',
        'id_field = "nr"',
        'name_field = "name"',
        'capacity_field = "plaetze"',
        "[source]",
        'title = "WFS Kitas"',
        f'urls = ["{base}/wfs?SERVICE=WFS&REQUEST=GetFeature&TYPENAMES=kita"]',
    ]
    (tmp_path / "fac").mkdir()
    (tmp_path / "fac" / "wfs-kitas.toml").write_text("\n".join(lines))
    settings = data_settings.model_copy(update={"facilities_dir": tmp_path / "fac"})
    result = ingest_facilities(engine, "wfs-kitas", settings, srid=SRID)
    assert result.counts == {"kita": 1} and result.details["outside"] == 1
    assert any(r.startswith("/wfs?") for r in requests)
    # boundaries loaded afterwards pick the facility up, with its derived count
    ingest_file(
        engine,
        str(write(grid(CODES[:1]), tmp_path / "plr.gpkg")),
        FileLevel(system="mini", level="plr", fields=FieldMap("code", "name", code_length=8)),
        data_settings,
        srid=SRID,
    )
    assert derived(engine, "kita_count")["value"].tolist() == [1]
