"""Every export format in both CRS (regions, facilities, projects and events), read back by
GDAL inside pyogrio and by GDAL 3.6 from Debian (``ogrinfo``): the count, the CRS, no invalid
geometry, codes with their leading zeros, umlauts, and no warning from the older GDAL
(GeoPackage 1.4 gave one)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pyogrio
import pytest
from people import MARZAHN_NORD, project_body
from webserver import download

pytestmark = pytest.mark.mirror

OGRINFO = "/usr/bin/ogrinfo"
LAYERS = {
    "plr": ("/api/exports/regions/berlin-lor-2021/plr", {"indicators": "inhabitants"}, 542),
    "kita": ("/api/exports/facilities/kita", {}, 2880),
}
FORMATS = ("gpkg", "fgb", "shp", "geojson-crs", "csv")


def _gdal_path(path: Path) -> tuple[str, list[str]]:
    """What GDAL opens for the file (zips through /vsizip/) and its open options."""
    if path.name.endswith(".shp.zip"):
        return f"/vsizip/{path}", []
    if path.name.endswith(".csv.zip"):
        inner = path.name.removesuffix(".zip")
        return f"/vsizip/{path}/{inner}", ["X_POSSIBLE_NAMES=x", "Y_POSSIBLE_NAMES=y"]
    return str(path), []


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:25833"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("layer", list(LAYERS))
def test_every_format_reads_back_right_in_both_gdal(client, tmp_path, layer, fmt, crs):
    url, params, count = LAYERS[layer]
    extra = {"csv_profile": "plain"} if fmt == "csv" else {}
    path = download(client, url, tmp_path, format=fmt, crs=crs, **params, **extra)
    name, options = _gdal_path(path)
    frame = pyogrio.read_dataframe(name, **dict(o.split("=") for o in options))
    assert len(frame) == count
    epsg = int(crs.split(":")[1])
    if frame.crs is not None:  # a CSV of x/y carries no CRS; the README names it
        assert frame.crs.to_epsg() == epsg
    assert frame.geometry.notna().all() and frame.geometry.is_valid.all()
    if layer == "plr":
        assert "01100101" in set(frame["code"].astype(str))  # the leading zero kept
        assert any("ö" in n for n in frame["name"])
        lon = frame.geometry.bounds.minx.mean()
        assert (13.0 < lon < 13.8) if epsg == 4326 else (380_000 < lon < 420_000)
    else:
        assert any("ß" in a or "ü" in a for a in frame["address"].dropna())

    done = subprocess.run(
        [OGRINFO, "-ro", "-al", "-so", *[a for o in options for a in ("-oo", o)], name],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "CPL_LOG_ERRORS": "ON"},
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert f"Feature Count: {count}" in done.stdout
    if layer == "plr":
        assert re.search(r"code: String", done.stdout), done.stdout


def _counted(name: str, options: list[str]) -> int:
    """Features in every layer (a zip of shapefiles holds one per geometry type)."""
    kwargs = dict(o.split("=") for o in options)
    return sum(
        pyogrio.read_info(name, layer=layer, **kwargs)["features"]
        for layer, _ in pyogrio.list_layers(name)
    )


@pytest.fixture(scope="module")
def records(records_client, people) -> dict:
    """A public project and an event with umlauts in the writable store."""
    coordinator = people["coord10"]
    body = project_body(title="Matrix-Übung Gärten", public=True)
    body["geometry"] = MARZAHN_NORD
    response = records_client.post("/api/projects", json=body, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    event = {
        "type": "Workshop", "title": "Matrix-Führung", "held_on": "2025-05-06",
        "participants": 7, "system": "berlin-lor-2021", "regions": ["101001"],
    }  # fmt: skip
    response = records_client.post("/api/events", json=event, headers=coordinator.headers)
    assert response.status_code == 201, response.text
    return {"viewer": people["viewer"].headers}


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:25833"])
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize(
    ("url", "title"), [("/api/exports/projects", "Matrix-Übung Gärten"),
                       ("/api/exports/events", "Matrix-Führung")]
)  # fmt: skip
def test_projects_and_events_read_back_in_both_gdal(
    records_client, records, tmp_path, url, title, fmt, crs
):
    extra = {"csv_profile": "plain"} if fmt == "csv" else {}
    response = records_client.get(
        url, params={"format": fmt, "crs": crs, **extra}, headers=records["viewer"]
    )
    assert response.status_code == 200, response.text
    name_ = re.search(r'filename="([^"]+)"', response.headers["content-disposition"]).group(1)
    path = tmp_path / name_
    path.write_bytes(response.content)
    name, options = _gdal_path(path)
    expected = _counted(name, options)
    frames = [
        pyogrio.read_dataframe(name, layer=layer, **dict(o.split("=") for o in options))
        for layer, _ in pyogrio.list_layers(name)
    ]
    titles = {t for frame in frames for t in frame["title"]}
    assert title in titles  # umlauts intact
    for frame in frames:
        assert frame.geometry.is_valid.all()
        if frame.crs is not None:
            assert frame.crs.to_epsg() == int(crs.split(":")[1])
    done = subprocess.run(
        [OGRINFO, "-ro", "-al", "-so", *[a for o in options for a in ("-oo", o)], name],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Warning" not in done.stderr and "ERROR" not in done.stderr, done.stderr
    assert sum(int(n) for n in re.findall(r"Feature Count: (\d+)", done.stdout)) == expected
