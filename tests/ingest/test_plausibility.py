"""Geometry that is wrong is refused with a message naming file, feature and field, and nothing
is written: degrees labelled as a projected CRS, regions of no plausible area, exchanged axes
(boundaries and facility tables), unclosed rings, a shapefile without its attribute table, a
manifest that reaches outside the mirror, and a drawn project polygon whose ring is open."""

from __future__ import annotations

import json

import pytest
from conftest import assert_nothing_written
from geodata import KITA_FIELDS, X0, Y0, grid, settings_for, write
from pyproj import Transformer
from shapely.geometry import box

from ingest.errors import IngestError
from ingest.facilities import ingest_facilities
from ingest.jobs import FileLevel, ingest_file
from ingest.readers import FieldMap
from records.errors import InvalidRecord
from records.geometry import parse_geometry
from records.settings import RecordSettings

SRID = 25833
TO_WGS = Transformer.from_crs(SRID, 4326, always_xy=True)
CODES = ["010101", "010102", "010103", "010104"]


def _level(system: str = "probe", level: str = "plr", crs: str | None = None) -> FileLevel:
    return FileLevel(system=system, level=level, fields=FieldMap("code", "name", crs=crs))


def _load(engine, path, settings, **level):
    return lambda: ingest_file(engine, str(path), _level(**level), settings, srid=SRID)


@pytest.fixture
def store(engine, tmp_path, data_settings):
    """Four Planungsräume of a generated town: the reference where the city is."""
    path = write(grid(CODES), tmp_path / "plr.gpkg")
    ingest_file(engine, str(path), _level("town"), data_settings, srid=SRID)
    return engine


def test_degrees_labelled_as_web_mercator_are_refused(engine, tmp_path, data_settings):
    frame = grid(CODES).to_crs(4326).set_crs(3857, allow_override=True)
    path = write(frame, tmp_path / "grad.gpkg")
    assert_nothing_written(
        engine,
        _load(engine, path, data_settings),
        "grad.gpkg",
        "look like degrees",
        "EPSG:3857",
    )


def test_a_region_of_no_plausible_area_is_refused(engine, tmp_path, data_settings):
    frame = grid(CODES)
    frame.loc[2, "geometry"] = box(X0, Y0, X0 + 0.5, Y0 + 0.5)  # a quarter of a square metre
    path = write(frame, tmp_path / "winzig.gpkg")
    assert_nothing_written(
        engine,
        _load(engine, path, data_settings),
        "winzig.gpkg",
        "feature 2",
        "'010103' has an area of 0.25 m²",
    )


def test_boundaries_with_exchanged_axes_are_refused(store, tmp_path, data_settings):
    frame = grid(CODES).to_crs(4326)
    frame["geometry"] = frame.geometry.map(
        lambda g: type(g)([(y, x) for x, y in g.exterior.coords])
    )
    path = write(frame.set_crs(4326, allow_override=True), tmp_path / "vertauscht.geojson")
    assert_nothing_written(
        store,
        _load(store, path, data_settings, system="neu"),
        "vertauscht.geojson",
        "the axes seem exchanged",
        "4 of 4 features",
    )
    # the same file with its axes right loads
    write(grid(CODES).to_crs(4326), tmp_path / "richtig.geojson")
    _load(store, tmp_path / "richtig.geojson", data_settings, system="neu")()


def test_a_facility_table_with_exchanged_axes_is_refused(store, tmp_path):
    rows = []
    for i, (x, y) in enumerate([(X0 + 300, Y0 + 400), (X0 + 1300, Y0 + 600)]):
        lon, lat = TO_WGS.transform(x, y)
        rows.append(f"K{i};Kita {i};40;{lat:.6f};{lon:.6f}")  # latitude in the x column
    (tmp_path / "kitas.csv").write_text(
        "nr;name;plaetze;x;y\n" + "\n".join(rows) + "\n", encoding="utf-8"
    )
    fields = {**KITA_FIELDS, "x_field": "x", "y_field": "y", "crs": "EPSG:4326"}
    assert_nothing_written(
        store,
        lambda: ingest_facilities(
            store, "mini", settings_for(tmp_path, "kitas.csv", **fields), srid=SRID
        ),
        "kitas.csv",
        "the axes seem exchanged",
        "2 of 2 facilities",
    )


def test_an_unclosed_ring_names_the_feature_not_the_library(engine, tmp_path, data_settings):
    square = [[13.40, 52.50], [13.41, 52.50], [13.41, 52.51], [13.40, 52.51]]
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": code},
            "geometry": {"type": "Polygon", "coordinates": [ring]},
        }
        for code, ring in (("01", [*square, square[0]]), ("02", square))
    ]
    path = tmp_path / "offen.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    message = assert_nothing_written(
        engine,
        _load(engine, path, data_settings, level="bezirk"),
        "offen.geojson",
        "feature 1",
        "code = '02'",
        "a ring is not closed",
    )
    assert "IllegalArgumentException" not in message


def test_a_shapefile_without_its_attribute_table_says_so(engine, tmp_path, data_settings):
    write(grid(CODES), tmp_path / "ohne.shp")
    (tmp_path / "ohne.dbf").unlink()
    assert_nothing_written(
        engine,
        _load(engine, tmp_path / "ohne.shp", data_settings),
        "ohne.shp",
        "ohne.dbf is missing",
    )


@pytest.mark.parametrize("mirror_path", ["../geheim.csv", "/etc/passwd", "a/../../b.csv"])
def test_a_manifest_cannot_reach_outside_the_mirror(tmp_path, mirror_path):
    (tmp_path / "fac").mkdir()
    with pytest.raises((IngestError, ValueError), match="inside the mirror"):
        settings = settings_for(tmp_path, mirror_path, **KITA_FIELDS)
        from ingest.facilities import load_facility_source

        load_facility_source(settings.facilities_dir, "mini")


def test_a_drawn_polygon_with_an_open_ring_is_refused_not_closed():
    lon, lat = TO_WGS.transform(X0 + 500, Y0 + 500)
    ring = [[lon, lat], [lon + 0.001, lat], [lon + 0.001, lat + 0.001], [lon, lat + 0.001]]
    with pytest.raises(InvalidRecord, match="ring 1 is not closed"):
        parse_geometry({"type": "Polygon", "coordinates": [ring]}, 4326, RecordSettings())
    with pytest.raises(InvalidRecord, match="ring 1 of polygon 2 is not closed"):
        parse_geometry(
            {"type": "MultiPolygon", "coordinates": [[[*ring, ring[0]]], [ring]]},
            4326,
            RecordSettings(),
        )
    closed = parse_geometry(
        {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}, 4326, RecordSettings()
    )
    assert closed.geom_type == "Polygon"
