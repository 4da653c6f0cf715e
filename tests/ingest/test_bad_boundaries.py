"""Bad boundary input: each case gives one clear line and leaves the database unchanged."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
from conftest import SRID, table_counts
from geodata import X0, Y0, bowtie, grid, points, write
from shapely.geometry import box

from ingest.errors import IngestError
from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap


def spec(**fields) -> FileLevel:
    fields.setdefault("code_field", "code")
    fields.setdefault("name_field", "name")
    return FileLevel(system="testcity", level="quarter", fields=FieldMap(**fields))


def load(engine, path, data_settings, **fields):
    return ingest_file(engine, str(path), spec(**fields), data_settings, srid=SRID)


def assert_rejected(engine, path, data_settings, *fragments, **fields) -> str:
    before = table_counts(engine)
    with pytest.raises(IngestError) as caught:
        load(engine, path, data_settings, **fields)
    message = str(caught.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    assert table_counts(engine) == before, "nothing may be written"
    return message


def test_good_file_loads(engine, tmp_path, data_settings):
    path = write(grid(["01", "02", "03", "04"]), tmp_path / "ok.gpkg")
    result = load(engine, path, data_settings)
    assert result.summary[0]["features"] == 4
    assert result.summary[0]["area_km2"] == pytest.approx(4.0)


def test_missing_file(engine, tmp_path, data_settings):
    assert_rejected(
        engine, tmp_path / "nowhere.shp", data_settings, "nowhere.shp", "file not found"
    )


def test_shapefile_without_prj_and_no_crs(engine, tmp_path, data_settings):
    path = write(grid(["01", "02"]), tmp_path / "noprj.shp")
    path.with_suffix(".prj").unlink()
    assert_rejected(engine, path, data_settings, "noprj.shp", "has no CRS", "--crs")
    # Declaring the CRS makes the same file load.
    assert load(engine, path, data_settings, crs="EPSG:25833").summary[0]["features"] == 2


def test_lonlat_labelled_as_utm(engine, tmp_path, data_settings):
    lonlat = gpd.GeoDataFrame(
        {"code": ["01"], "name": ["a"]}, geometry=[box(13.3, 52.4, 13.5, 52.6)], crs="EPSG:4326"
    ).set_crs("EPSG:25833", allow_override=True)
    path = write(lonlat, tmp_path / "mislabelled.gpkg")
    assert_rejected(
        engine, path, data_settings, "mislabelled.gpkg", "outside the area of use", "EPSG:25833"
    )


def test_empty_file(engine, tmp_path, data_settings):
    path = tmp_path / "empty.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    assert_rejected(engine, path, data_settings, "empty.geojson", "contains no features")


def test_non_polygon_layer(engine, tmp_path, data_settings):
    path = write(points(["01", "02"]), tmp_path / "points.gpkg")
    assert_rejected(
        engine, path, data_settings, "points.gpkg", "feature 0", "Point is not a polygon"
    )


def test_missing_code_field(engine, tmp_path, data_settings):
    path = write(grid(["01", "02"]), tmp_path / "fields.gpkg")
    assert_rejected(
        engine,
        path,
        data_settings,
        "fields.gpkg",
        "field 'PLR_ID'",
        "fields are: code, name",
        code_field="PLR_ID",
    )


def test_duplicate_codes(engine, tmp_path, data_settings):
    path = write(grid(["01", "02", "01"], names=["Nord", "Mitte", "Süd"]), tmp_path / "dup.gpkg")
    assert_rejected(
        engine,
        path,
        data_settings,
        "duplicate code '01'",
        "feature 0 ('Nord')",
        "feature 2 ('Süd')",
    )


def test_empty_code(engine, tmp_path, data_settings):
    path = write(grid(["01", ""]), tmp_path / "blank.gpkg")
    assert_rejected(engine, path, data_settings, "feature 1", "field 'code'", "empty code")


def test_self_intersecting_polygon_is_repaired_and_reported(engine, tmp_path, data_settings):
    path = write(bowtie(), tmp_path / "bowtie.geojson")
    result = load(engine, path, data_settings)
    assert result.summary[0]["repaired_geometries"] == 1
    assert any(
        "1 invalid geometries were repaired" in note and "Self-intersection" in note
        for note in result.notes
    )
    assert result.summary[0]["area_km2"] == pytest.approx(0.5)


def test_truncated_shapefile(engine, tmp_path, data_settings):
    path = write(grid([f"{i:02d}" for i in range(1, 21)]), tmp_path / "cut.shp")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert_rejected(engine, path, data_settings, "cut.shp", "truncated")


def test_corrupt_file(engine, tmp_path, data_settings):
    path = tmp_path / "garbage.geojson"
    path.write_text('{"type": "FeatureCollection", "features": [{"type": "Feat')
    assert_rejected(engine, path, data_settings, "garbage.geojson", "cannot read the file")


def test_codes_that_lost_leading_zeros_are_repaired(engine, tmp_path, data_settings):
    frame = grid(["1100101", "1100102", "12500926"])
    frame["code"] = frame["code"].astype(int)  # what a spreadsheet round-trip does
    path = write(frame, tmp_path / "numeric.geojson")
    result = load(engine, path, data_settings, code_length=8)
    assert any(
        "2 codes had lost leading zeros" in n and "1100101 → 01100101" in n for n in result.notes
    )
    assert result.summary[0]["repaired_codes"] == 2


def test_code_of_wrong_length(engine, tmp_path, data_settings):
    path = write(grid(["011001011"]), tmp_path / "long.gpkg")
    assert_rejected(
        engine,
        path,
        data_settings,
        "feature 0",
        "'011001011'",
        "this level's codes have 8",
        code_length=8,
    )


def test_failure_late_in_the_transaction_rolls_back(engine, tmp_path, data_settings):
    """A polygon that is valid to read but collapses to nothing in PostGIS fails after rows
    were already staged: the rollback must still leave nothing behind."""
    degenerate = gpd.GeoDataFrame(
        {"code": ["01", "02"], "name": ["a", "b"]},
        geometry=[
            box(X0, Y0, X0 + 10, Y0 + 10),
            gpd.GeoSeries.from_wkt(
                [f"POLYGON(({X0} {Y0}, {X0 + 5} {Y0}, {X0 + 10} {Y0}, {X0} {Y0}))"]
            ).iloc[0],
        ],
        crs="EPSG:25833",
    )
    path = write(degenerate, tmp_path / "flat.gpkg")
    assert_rejected(engine, path, data_settings, "flat.gpkg", "feature 1", "no area left")


def test_crs_without_epsg_code_is_transformed(engine, tmp_path, data_settings):
    """A local transverse Mercator (no EPSG code) is transformed with pyproj, not rejected."""
    local = "+proj=tmerc +lat_0=52.5 +lon_0=13.4 +k=1 +x_0=0 +y_0=0 +ellps=GRS80 +units=m"
    frame = gpd.GeoDataFrame(
        {"code": ["01", "02"], "name": ["a", "b"]},
        geometry=[box(0, 0, 1000, 1000), box(1000, 0, 2000, 1000)],
        crs=local,
    )
    path = write(frame, tmp_path / "local.gpkg")
    result = load(engine, path, data_settings)
    assert any("transformed from a custom CRS" in note for note in result.notes)
    # Two 1 km² squares near Berlin stay 2 km² within UTM's scale error.
    assert result.summary[0]["area_km2"] == pytest.approx(2.0, rel=0.002)
