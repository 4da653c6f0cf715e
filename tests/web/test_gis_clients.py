"""Real GIS clients against a server in its own process: GDAL 3.6 from Debian (``ogrinfo``:
MVT on a whole tileset, OAPIF with a filter sent to the server), GDAL inside pyogrio (fields
from the feature schema, server-side filters) and QGIS 3.22 headless (PyQGIS from Debian's
``/usr/bin/python3``: vector tiles drawn with our style, OAPIF filters that reach the
server)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import httpx
import pyogrio
import pytest

pytestmark = pytest.mark.mirror

OGRINFO = "/usr/bin/ogrinfo"
SYSTEM_PYTHON = "/usr/bin/python3"
QGIS_CLIENT = Path(__file__).with_name("qgis_client.py")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "gis"
PROVIDER = "Forum Soziale Dienste GmbH"


def _ogrinfo(*args: str) -> tuple[str, str]:
    if not Path(OGRINFO).exists():
        raise RuntimeError(f"{OGRINFO} is missing: apt-get install gdal-bin (make test does)")
    done = subprocess.run(
        [OGRINFO, "-ro", "-al", "-so", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CPL_DEBUG": "ON"},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout, done.stderr


def _feature_count(output: str) -> int:
    return int(re.search(r"Feature Count: (\d+)", output).group(1))


def _kita_count(base: str) -> int:
    page = httpx.get(f"{base}/ogc/collections/facilities-kita/items", params={"limit": 1})
    return page.json()["numberMatched"]


def test_gdal_36_opens_a_whole_tileset(server_process):
    """``MVT:<layer>/<zoom>`` was 404 (GDAL looks for metadata.json beside the zoom)."""
    out, err = _ogrinfo(f"MVT:{server_process}/tiles/facilities-kita/14")
    assert "metadata.json" in err
    assert "Layer name: facilities-kita" in out
    assert "capacity: Real" in out and "name: String" in out
    # tiles overlap by their buffer, so points near tile edges are counted twice
    assert _kita_count(server_process) <= _feature_count(out) < 1.2 * _kita_count(server_process)
    regions, _ = _ogrinfo(f"MVT:{server_process}/tiles/berlin-lor-2021-bzr/10")
    assert "inhabitants: Real" in regions and _feature_count(regions) >= 143


def test_gdal_36_sends_an_equality_filter_to_the_server(server_process):
    out, err = _ogrinfo(
        f"OAPIF:{server_process}/ogc", "facilities-kita", "-where", f"provider = '{PROVIDER}'"
    )
    asked = re.findall(r"Fetch\((\S+)\)", err)
    assert f"{server_process}/ogc/api" in asked  # read for the collection's parameters
    assert any("provider=Forum%20Soziale%20Dienste%20GmbH" in url for url in asked), asked
    assert "Using JSON schema" in err and "valid_on: Date" in out
    expected = httpx.get(
        f"{server_process}/ogc/collections/facilities-kita/items", params={"provider": PROVIDER}
    ).json()["numberReturned"]
    assert _feature_count(out) == expected > 0


def test_gdal_36_takes_the_fields_of_an_empty_collection_from_its_schema(server_process):
    out, _ = _ogrinfo(f"OAPIF:{server_process}/ogc", "projects")
    assert _feature_count(out) == 0
    assert "title: String" in out and "start_date: Date" in out


def test_pyogrio_gdal_filters_on_the_server_and_pages_by_the_declared_limit(server_process, capfd):
    pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
    try:
        frame = pyogrio.read_dataframe(
            f"OAPIF:{server_process}/ogc",
            layer="facilities-kita",
            where=f"provider = '{PROVIDER}'",
        )
        info = pyogrio.read_info(f"OAPIF:{server_process}/ogc", layer="projects")
    finally:
        pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
    err = capfd.readouterr().err
    items = [u for u in re.findall(r"Fetch\((\S+)\)", err) if "/items" in u]
    filtered = [u for u in items if "provider=" in u]
    assert filtered and all("limit=10&" not in u for u in filtered), items
    assert len(frame) > 0 and set(frame["provider"]) == {PROVIDER}
    assert {"title", "start_date", "districts"} <= set(info["fields"])


@pytest.fixture(scope="module")
def qgis_result(server_process) -> dict:
    if not Path(SYSTEM_PYTHON).exists():
        raise RuntimeError("Debian's python3 with python3-qgis is needed (make test installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [
            SYSTEM_PYTHON,
            str(QGIS_CLIENT),
            server_process,
            str(ARTIFACTS / "qgis-vector-tiles.png"),
            "berlin-lor-2021-bzr",
            "share_age_above_65",
            "2022-12-31",
            "2023-01-01",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": ""},
        cwd=ARTIFACTS,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_qgis_draws_the_vector_tiles_in_the_style_classes(qgis_result):
    assert qgis_result["tiles_valid"] and qgis_result["style_converted"]
    assert qgis_result["tile_urls"], "QGIS fetched no tile"
    drawn = [_rgb(c) for c, n in qgis_result["colours"].items() if n >= 100]
    # the fills are 80 % opaque over the white background
    classes = [_on_white(_rgb(c), 0.8) for c in qgis_result["style_colours"]]
    shown = [c for c in classes if any(_near(c, d) for d in drawn)]
    # the legend classes show on the map of Berlin's BZR, not one flat colour
    assert len(shown) >= 4, (drawn, classes)


def _rgb(colour: str) -> tuple[int, int, int]:
    return tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))


def _on_white(rgb: tuple[int, ...], opacity: float) -> tuple[float, ...]:
    return tuple(opacity * c + (1 - opacity) * 255 for c in rgb)


def _near(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(abs(x - y) <= 4 for x, y in zip(a, b, strict=True))


def test_qgis_sends_its_filters_to_the_server(qgis_result, server_process):
    kitas = _kita_count(server_process)
    assert qgis_result["oapif_valid"] and qgis_result["oapif_count"] == kitas
    assert qgis_result["oapif_fields"]["valid_on"] == "Date"
    # "valid_on <= …" goes out as datetime=0000-01-01T00:00:00Z/… (refused with 400 before)
    assert qgis_result["before_urls"] and all(
        "datetime=0000-01-01" in u for u in qgis_result["before_urls"]
    )
    assert qgis_result["before_count"] == kitas
    # only the server can answer "none": QGIS 3.22 keeps no client-side part of it
    assert qgis_result["after_urls"] and all(
        "datetime=2023-01-01" in u for u in qgis_result["after_urls"]
    )
    assert qgis_result["after_count"] == 0
    box = qgis_result["box_urls"]
    assert box and all("bbox=13.4" in u for u in box), box
    served = httpx.get(
        f"{server_process}/ogc/collections/facilities-kita/items",
        params={"bbox": "13.40,52.50,13.42,52.52", "limit": 1000},
    ).json()["numberReturned"]
    assert qgis_result["box_count"] == served > 0
