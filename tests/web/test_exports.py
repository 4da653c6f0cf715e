"""Exports on the real Berlin store, read back with pyogrio: the same regions, values, CRS and
areas as stored, attribution in every file, descriptive file names, filters, project fields by
role (never contacts), and clear refusals that leave no file behind."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import pyogrio
import pytest
from people import MARZAHN_NORD, project_body, square
from sqlalchemy import text
from webserver import download

from layers.indicators import indicator_table

pytestmark = pytest.mark.mirror

BZR = "/api/exports/regions/berlin-lor-2021/bzr"
INDICATORS = ["inhabitants", "share_age_above_65", "share_migration_background"]
PERIOD = "2024-12-31"


@pytest.fixture(scope="module")
def stored(berlin_engine_module):
    """Per BZR code: stored area (m², EPSG:25833) and the indicator values of PERIOD."""
    with berlin_engine_module.connect() as conn:
        areas = dict(
            conn.execute(
                text(
                    "SELECT r.code, ST_Area(r.geom) FROM regions r "
                    "JOIN region_levels l ON l.id = r.level_id "
                    "JOIN region_systems s ON s.id = l.system_id "
                    "WHERE s.key = 'berlin-lor-2021' AND l.key = 'bzr'"
                )
            ).all()
        )
        values = {}
        for key in INDICATORS:
            rows = indicator_table(conn, "berlin-lor-2021", "bzr", key, date(2024, 12, 31)).rows
            values[key] = dict(zip(rows["code"], rows["value"], strict=True))
    return areas, values


@pytest.fixture(scope="module")
def berlin_engine_module(berlin_url):
    from spatial.store import make_engine

    engine = make_engine(berlin_url)
    yield engine
    engine.dispose()


def check_regions(frame, stored, fields=None, tolerance=1e-6):
    areas, values = stored
    fields = fields or {k: k for k in INDICATORS}
    assert len(frame) == 143
    assert set(frame["code"]) == set(areas)
    for key, column in fields.items():
        got = dict(zip(frame["code"], frame[column].astype(float), strict=True))
        for code, expected in values[key].items():
            assert got[code] == pytest.approx(expected, rel=tolerance), (key, code)
    metric = frame if frame.crs and frame.crs.to_epsg() == 25833 else frame.to_crs(25833)
    ratio = np.array([a / areas[c] for c, a in zip(frame["code"], metric.area, strict=True)])
    assert np.abs(ratio - 1).max() < 0.001


def test_region_exports_round_trip_in_every_format(client, stored, tmp_path):
    params = {"indicators": ",".join(INDICATORS), "period": PERIOD}
    # GeoJSON (RFC 7946): WGS 84, attribution as a foreign member
    path = download(client, BZR, tmp_path, format="geojson", **params)
    assert path.name == "berlin-lor-2021_bzr_3-indicators_2024-12.geojson"
    document = json.loads(path.read_text())
    assert "Amt für Statistik Berlin-Brandenburg" in document["attribution"]
    assert {s["licence"] for s in document["sources"]} >= {"CC BY 3.0 DE"}
    urls = {s["licence"]: s.get("licence_url") for s in document["sources"]}
    assert urls["CC BY 3.0 DE"] == "https://creativecommons.org/licenses/by/3.0/de/"
    assert "crs" not in document
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 4326
    check_regions(frame, stored)
    # GeoJSON in EPSG:25833, labelled as not RFC 7946
    path = download(client, BZR, tmp_path, format="geojson-25833", **params)
    assert path.name.endswith("_epsg25833.geojson")
    document = json.loads(path.read_text())
    assert "Not RFC 7946" in document["crs_note"]
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 25833
    check_regions(frame, stored)
    # GeoPackage with metadata
    path = download(client, BZR, tmp_path, format="gpkg", **params)
    info = pyogrio.read_info(path)
    assert "Amt für Statistik" in info["dataset_metadata"]["attribution"]
    assert "CC BY 3.0 DE" in info["dataset_metadata"]["sources"]
    frame = pyogrio.read_dataframe(path)
    assert frame.crs.to_epsg() == 25833
    check_regions(frame, stored)
    # FlatGeobuf with title and description
    path = download(client, BZR, tmp_path, format="fgb", **params)
    assert "Lizenz" in pyogrio.read_info(path)["layer_metadata"]["DESCRIPTION"]
    check_regions(pyogrio.read_dataframe(path), stored)


def test_zipped_shapefile_maps_long_names_and_carries_readme(client, stored, tmp_path):
    params = {"indicators": ",".join(INDICATORS), "period": PERIOD, "format": "shp"}
    path = download(client, BZR, tmp_path, **params)
    assert path.name == "berlin-lor-2021_bzr_3-indicators_2024-12.shp.zip"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        stem = path.name.removesuffix(".shp.zip")
        assert {f"{stem}.{e}" for e in ("shp", "shx", "dbf", "prj", "cpg")} <= names
        assert archive.read(f"{stem}.cpg").decode().strip().upper().startswith("UTF")
        readme = archive.read("README.txt").decode()
        mapping = {
            row["field"]: row["shapefile_field"]
            for row in csv.DictReader(io.StringIO(archive.read("field_names.csv").decode()))
        }
    assert "Lizenz: CC BY 3.0 DE" in readme and "share_migration_background" in readme
    assert all(len(short) <= 10 for short in mapping.values())
    assert len(set(mapping.values())) == len(mapping)
    frame = pyogrio.read_dataframe(f"/vsizip/{path}/{stem}.shp")
    assert frame.crs.to_epsg() == 25833
    assert "Oberschöneweide" in set(frame["name"])  # UTF-8 survives through the .cpg
    check_regions(frame, stored, {k: mapping[k] for k in INDICATORS})


def _csv_zip(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_csv_opens_right_in_german_excel(client, stored, tmp_path):
    """By default a CSV was `,` with `.` decimals and no BOM: German Excel showed one column,
    broke the umlauts and dropped the codes' leading zeros."""
    params = {"indicators": ",".join(INDICATORS), "period": PERIOD, "format": "csv"}
    path = download(client, BZR, tmp_path, **params)
    assert path.name.endswith(".csv.zip")
    files = _csv_zip(path)
    stem = path.name.removesuffix(".csv.zip")
    raw = files[f"{stem}.csv"]
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    assert len(rows) == 143 and list(rows[0])[:3] == ["x", "y", "code"]
    marzahn = next(r for r in rows if r["code"] == '="101001"')  # text for Excel
    assert "," in marzahn["share_age_above_65"] and "." not in marzahn["share_age_above_65"]
    x, y = (float(marzahn[k].replace(",", ".")) for k in ("x", "y"))
    assert 13.5 < x < 13.6 and 52.55 < y < 52.59  # a point inside Marzahn Nord
    values = stored[1]["share_age_above_65"]
    assert float(marzahn["share_age_above_65"].replace(",", ".")) == pytest.approx(values["101001"])
    assert any("Oberschöneweide" in r["name"] for r in rows)
    credits = files["README.txt"].decode()
    assert "Amt für Statistik" in credits and "Lizenz" in credits and "Trennzeichen ';'" in credits
    # each licence with the address of its text
    assert "CC BY 3.0 DE <https://creativecommons.org/licenses/by/3.0/de/>" in credits
    assert files[f"{stem}.csvt"].decode().startswith('"CoordX","CoordY","String"')


def test_plain_csv_keeps_codes_as_text_for_gdal(client, stored, tmp_path):
    params = {"indicators": ",".join(INDICATORS), "period": PERIOD, "format": "csv"}
    path = download(client, "/api/exports/regions/berlin-lor-2021/plr", tmp_path,
                    csv_profile="plain", **params)  # fmt: skip
    stem = path.name.removesuffix(".csv.zip")
    frame = pyogrio.read_dataframe(
        f"/vsizip/{path}/{stem}.csv", X_POSSIBLE_NAMES="x", Y_POSSIBLE_NAMES="y"
    )
    # the .csvt says "String": GDAL keeps 01100101 as it is
    assert frame["code"].dtype.kind in "OU" or str(frame["code"].dtype) == "str"
    assert "01100101" in set(frame["code"])
    assert frame["inhabitants"].dtype.kind == "f" and len(frame) == 542
    raw = _csv_zip(path)[f"{stem}.csv"]
    assert not raw.startswith(b"\xef\xbb\xbf") and raw.startswith(b"x,y,code,")


def test_wkt_only_on_request_and_never_beyond_an_excel_cell(client, stored, tmp_path):
    params = {"format": "csv", "csv_geometry": "wkt", "indicators": "inhabitants"}
    path = download(client, BZR, tmp_path, **params)
    stem = path.name.removesuffix(".csv.zip")
    files = _csv_zip(path)
    rows = list(
        csv.DictReader(io.StringIO(files[f"{stem}.csv"].decode("utf-8-sig")), delimiter=";")
    )
    assert all(len(v or "") <= 32_767 for r in rows for v in r.values())
    long_ones = [r for r in rows if r["wkt"].startswith("siehe ")]
    assert long_ones, "some BZR outlines are longer than an Excel cell"
    separate = files[f"{stem}_geometrien.csv"].decode("utf-8-sig")
    kept = list(csv.DictReader(io.StringIO(separate), delimiter=";"))
    assert len(kept) == len(long_ones) and all(r["wkt"].startswith("MULTIPOLYGON") for r in kept)
    assert "wkt" not in files[f"{stem}.csv"].decode("utf-8-sig").splitlines()[0].split(";")[1:]
    plain = download(client, BZR, tmp_path, csv_profile="plain", **params)
    frame = pyogrio.read_dataframe(f"/vsizip/{plain}/{stem}.csv")  # GDAL finds the WKT
    assert len(frame) == 143 and frame.geometry.is_valid.all()


def test_filters_by_region_and_bbox_and_file_names(client, tmp_path):
    path = download(client, BZR, tmp_path, format="gpkg", region="10", indicators="kita_places")
    assert path.name == "berlin-lor-2021_bzr_10_kita-places_2022-12.gpkg"
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 9 and all(frame["parent_code"].str.startswith("10"))
    path = download(client, BZR, tmp_path, format="geojson", bbox="13.55,52.56,13.57,52.57")
    codes = set(pyogrio.read_dataframe(path)["code"])
    assert "101001" in codes and len(codes) < 10
    path = download(client, "/api/exports/facilities/kita", tmp_path, format="fgb")
    assert path.name == "facilities_kita.fgb"
    kitas = pyogrio.read_dataframe(path)
    assert len(kitas) == 2880 and int(kitas["capacity"].sum()) == 194_979
    path = download(
        client,
        "/api/exports/facilities/kita",
        tmp_path,
        format="gpkg",
        system="berlin-lor-2021",
        region="101001",
    )
    inside = pyogrio.read_dataframe(path)
    assert 0 < len(inside) < 100
    assert "Geoportal Berlin" in pyogrio.read_info(path)["dataset_metadata"]["attribution"]


def leftovers() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("sz-export-*")}


@pytest.mark.parametrize(
    ("url", "params", "status", "message"),
    [
        (BZR, {"format": "xlsx"}, 422, "unknown format 'xlsx'"),
        (BZR, {"indicators": "nope"}, 404, "unknown indicator 'nope'"),
        ("/api/exports/regions/berlin-lor-2021/kiez", {}, 404, "unknown region level"),
        (BZR, {"region": "10100101"}, 422, "finer than the level"),
        (BZR, {"bbox": "13,52,12,53"}, 422, "bbox"),
        (BZR, {"precision": "40", "format": "geojson"}, 422, "precision"),
        (BZR, {"csv_decimal": "dot", "format": "csv"}, 422, "csv decimal"),
        ("/api/exports/facilities/zoo", {}, 404, "unknown facility category 'zoo'"),
        ("/api/exports/projects", {"status": "fertig"}, 422, "unknown status"),
        ("/api/exports/events", {}, 401, "sign in"),
    ],
)
def test_bad_export_requests_are_refused_clearly(client, url, params, status, message):
    before = leftovers()
    response = client.get(url, params=params)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
    assert leftovers() == before


def test_projects_and_events_exports_by_role_never_contacts(records_client, people, tmp_path):
    coordinator, admin = people["coord10"], people["admin"]
    made = []
    for public in (True, False):
        body = project_body(title=f"Export {'öffentlich' if public else 'intern'}", public=public)
        body["geometry"] = MARZAHN_NORD if public else square(13.57, 52.56)
        response = records_client.post("/api/projects", json=body, headers=coordinator.headers)
        assert response.status_code == 201, response.text
        made.append(response.json()["project"])
    line = {"type": "LineString", "coordinates": [[13.56, 52.56], [13.57, 52.565]]}
    response = records_client.post(
        "/api/projects",
        json=project_body(title="Export Weg", geometry=line),
        headers=coordinator.headers,
    )
    assert response.status_code == 201
    contact = {
        "name": "Erika Kontaktperson",
        "email": "erika@example.org",
        "consent_date": "2025-01-10",
        "consent_purpose": "Rückfragen zum Projekt",
    }
    response = records_client.post(
        f"/api/projects/{made[0]['id']}/contacts", json=contact, headers=coordinator.headers
    )
    assert response.status_code == 201, response.text

    anonymous = download(records_client, "/api/exports/projects", tmp_path, format="gpkg")
    frame = pyogrio.read_dataframe(anonymous)
    titles = set(frame["title"])
    assert "Export öffentlich" in titles and "Export intern" not in titles
    assert "public" not in frame.columns and "version" not in frame.columns
    response = records_client.get(
        "/api/exports/projects", params={"format": "geojson"}, headers=admin.headers
    )
    assert response.status_code == 200
    document = response.json()
    titles = {f["properties"]["title"] for f in document["features"]}
    assert {"Export öffentlich", "Export intern"} <= titles
    assert "public" in document["features"][0]["properties"]
    for fmt in ("geojson", "gpkg", "csv", "shp", "fgb"):
        raw = records_client.get(
            "/api/exports/projects", params={"format": fmt}, headers=admin.headers
        ).content
        if raw.startswith(b"PK"):  # zips are deflated: look inside
            with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                raw = b"".join(archive.read(n) for n in archive.namelist())
        assert b"Erika" not in raw and b"erika@example.org" not in raw, fmt
    shapes = download(
        records_client, "/api/exports/projects", tmp_path, format="shp", status="in Planung"
    )
    with zipfile.ZipFile(shapes) as archive:
        shp = {n for n in archive.namelist() if n.endswith(".shp")}
    assert any(n.endswith("_polygons.shp") for n in shp)
    assert any(n.endswith("_lines.shp") for n in shp)

    event = {
        "type": "Workshop",
        "title": "Export-Werkstatt",
        "held_on": "2025-03-04",
        "participants": 12,
        "system": "berlin-lor-2021",
        "regions": ["101001"],
    }
    response = records_client.post("/api/events", json=event, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    response = records_client.get(
        "/api/exports/events", params={"format": "gpkg"}, headers=people["viewer"].headers
    )
    assert response.status_code == 200
    path = tmp_path / "events.gpkg"
    path.write_bytes(response.content)
    events = pyogrio.read_dataframe(path)
    row = events[events["title"] == "Export-Werkstatt"].iloc[0]
    assert row["participants"] == 12 and row["regions"] == "101001"
    assert 13.5 < events.to_crs(4326).geometry[row.name].x < 13.6


def test_facilities_export_as_shapefiles_of_points(client, tmp_path):
    loaded = [c for c in client.get("/api/facility-categories").json() if c["facilities"]]
    assert len(loaded) >= 4
    for category in loaded:
        path = download(
            client, f"/api/exports/facilities/{category['key']}", tmp_path, format="shp"
        )
        stem = path.name.removesuffix(".shp.zip")
        info = pyogrio.read_info(f"/vsizip/{path}/{stem}.shp")
        assert info["geometry_type"] == "Point", category["key"]
        assert info["features"] == category["facilities"], category["key"]
        frame = pyogrio.read_dataframe(f"/vsizip/{path}/{stem}.shp")
        assert frame.geometry.is_valid.all() and (frame.geometry.geom_type == "Point").all()


def test_geopackages_are_version_1_2_for_gdal_3_6_and_qgis_3_22(client, tmp_path):
    import sqlite3

    path = download(client, BZR, tmp_path, format="gpkg", indicators="inhabitants")
    with sqlite3.connect(path) as db:
        application = db.execute("PRAGMA application_id").fetchone()[0]
        version = db.execute("PRAGMA user_version").fetchone()[0]
    assert application == int.from_bytes(b"GPKG", "big")
    assert version == 10200  # 1.4 made the older readers warn
    frame = pyogrio.read_dataframe(path)
    assert len(frame) == 143
    assert "attribution" in pyogrio.read_info(path)["dataset_metadata"]
