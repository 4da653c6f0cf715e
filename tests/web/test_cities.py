"""Every page for every city: in a store with only Hamburg the map, the region page (by
level), the profile PDF, exports in Hamburg's CRS, OGC items and tiles work; in a store with
Berlin and Hamburg each city has its own defaults, overlays and credits, and the map has a
city switch (driven in chromium)."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
from collections.abc import Iterator

import mapbox_vector_tile
import pyogrio
import pytest
from fastapi.testclient import TestClient
from webserver import download, serve

from spatial.settings import StoreSettings
from web.app import create_app
from web.settings import Settings

HH = "hamburg-stadtteile"
pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def hamburg(hamburg_url, web_settings) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(web=web_settings, store=StoreSettings(database_url=hamburg_url)))
    ) as c:
        yield c


@pytest.fixture(scope="module")
def both(two_city_url, web_settings) -> Iterator[TestClient]:
    with TestClient(
        create_app(Settings(web=web_settings, store=StoreSettings(database_url=two_city_url)))
    ) as c:
        yield c


def _tile(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


def test_hamburg_map_opens_on_its_own_defaults(hamburg):
    page = hamburg.get("/")
    assert page.status_code == 200, page.text
    html = page.text
    assert "Anteil der Leistungsempfängerinnen und -empfänger nach SGB II" in html
    assert "Profil-Einheit" in html
    assert "city-switch" not in html  # one city only
    # no facilities in this store: no facility overlay, and none of Berlin's
    assert "/api/facilities?category=" not in html
    choropleth = hamburg.get(f"/api/choropleth/{HH}/einheit/share_sgb2_recipients").json()
    assert len(choropleth["features"]) == 100
    values = [f["properties"].get("value") for f in choropleth["features"]]
    assert sum(v is not None for v in values) == 99


def test_region_page_by_level_and_panel(hamburg):
    bezirk = hamburg.get(f"/region/{HH}/harburg", params={"level": "bezirk"})
    stadtteil = hamburg.get(f"/region/{HH}/harburg", params={"level": "stadtteil"})
    assert bezirk.status_code == stadtteil.status_code == 200
    assert "Bezirk · Schlüssel harburg" in bezirk.text
    assert "Stadtteil · Schlüssel harburg" in stadtteil.text
    # the Bezirk's children link with their level; its population is the sum of its units
    assert f'/region/{HH}/wilstorf?level=einheit"' in bezirk.text
    assert "174.369" in bezirk.text
    # a share published only for the profile units says so at the Bezirk
    assert "nur für Profil-Einheit veröffentlicht" in bezirk.text
    # the breadcrumb of a Stadtteil carries the levels of its parents
    assert f'/region/{HH}/harburg?level=bezirk"' in stadtteil.text
    panel = hamburg.get(
        f"/region/{HH}/st-pauli/panel", params={"level": "einheit", "indicator": "inhabitants"}
    )
    assert panel.status_code == 200 and "St. Pauli" in panel.text
    assert "22.056" in panel.text and "?level=einheit" in panel.text


def test_hamburg_profile_pdf(hamburg, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is missing; make test installs it")
    page = hamburg.get(f"/profile/{HH}/altona", params={"level": "bezirk"})
    assert page.status_code == 200, page.text
    assert "Gebietsprofil · Bezirk" in page.text and "PROFIL DER" not in page.text.upper()
    # the city's own standard sections, not Berlin's
    assert "Sozialraumgespräche, Runde Tische und Akteure im Stadtteil" in page.text
    assert "Ressourcen und Akteure im Gebiet" not in page.text
    listed = hamburg.get(f"/api/profiles/{HH}/altona/sections", params={"level": "bezirk"})
    assert listed.status_code == 200 and listed.json() == []
    refused = hamburg.put(
        f"/api/profiles/{HH}/altona/sections/ressourcen",
        params={"level": "bezirk"},
        json={"body": "x", "version": 0},
    )
    assert refused.status_code == 401  # anonymous: refused before anything is looked at
    response = hamburg.get(f"/profile/{HH}/altona.pdf", params={"level": "bezirk"})
    assert response.status_code == 200, response.text
    name = re.search(r'filename="([^"]+)"', response.headers["content-disposition"]).group(1)
    assert " " not in name and name == "profil_hamburg-stadtteile_bezirk_altona_altona.pdf"
    path = tmp_path / name
    path.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Altona" in text and "Hamburg" in text and "Statistikamt Nord" in text
    assert "280.034" in text
    assert "Berlin" not in text and "Monitoring Soziale Stadtentwicklung" not in text


def test_hamburg_exports_in_its_official_crs(hamburg, tmp_path):
    url = f"/api/exports/regions/{HH}/bezirk"
    path = download(hamburg, url, tmp_path, indicators="inhabitants,share_sgb2_recipients")
    info = pyogrio.read_info(path)
    assert info["crs"] == "EPSG:25832" and info["features"] == 7
    frame = pyogrio.read_dataframe(path)
    assert dict(zip(frame["name"], frame["inhabitants"], strict=True))["Wandsbek"] == 453_086
    # a rule-'none' share leaves the Bezirk values empty instead of failing the export
    assert "share_sgb2_recipients" in frame.columns
    assert frame["share_sgb2_recipients"].isna().all()
    assert "Statistikamt Nord" in info["dataset_metadata"]["attribution"]
    assert "Berlin" not in info["dataset_metadata"]["attribution"]
    wgs = download(hamburg, url, tmp_path, indicators="inhabitants", crs="EPSG:4326")
    assert pyogrio.read_info(wgs)["crs"] == "EPSG:4326"
    projected = download(hamburg, url, tmp_path, format="geojson-crs", indicators="inhabitants")
    assert projected.name.endswith("_epsg25832.geojson")
    assert json.loads(projected.read_text())["crs"]["properties"]["name"].endswith("25832")
    bad = hamburg.get(url, params={"crs": "EPSG:4258"})
    assert bad.status_code == 422 and "neither WGS 84" in bad.json()["detail"]


def test_hamburg_ogc_items_and_tiles(hamburg):
    collections = hamburg.get("/ogc/collections").json()["collections"]
    ids = {c["id"] for c in collections}
    assert {f"{HH}-bezirk", f"{HH}-einheit", f"{HH}-stadtteil"} <= ids
    items = hamburg.get(f"/ogc/collections/{HH}-einheit/items", params={"limit": 200}).json()
    assert items["numberReturned"] == 100
    pauli = next(f for f in items["features"] if f["properties"]["code"] == "st-pauli")
    assert pauli["properties"]["inhabitants"] == 22_056
    assert pauli["properties"]["share_sgb2_recipients"] == pytest.approx(19.1, abs=5)
    # Hamburg's official CRS is offered beside CRS84 and the storage CRS
    utm32 = "http://www.opengis.net/def/crs/EPSG/0/25832"
    described = hamburg.get(f"/ogc/collections/{HH}-bezirk").json()
    assert utm32 in described["crs"]
    projected = hamburg.get(f"/ogc/collections/{HH}-bezirk/items", params={"crs": utm32})
    assert projected.headers["content-crs"] == f"<{utm32}>"
    ring = projected.json()["features"][0]["geometry"]["coordinates"][0][0]
    assert 540_000 < ring[0][0] < 610_000 and 5_900_000 < ring[0][1] < 5_970_000
    x, y = _tile(9.962, 53.553, 11)  # St. Pauli
    tile = hamburg.get(f"/tiles/{HH}-einheit/11/{x}/{y}.mvt")
    assert tile.status_code == 200
    decoded = mapbox_vector_tile.decode(tile.content)
    names = {f["properties"]["name"] for f in decoded[f"{HH}-einheit"]["features"]}
    assert "St. Pauli" in names


def test_two_cities_each_with_its_defaults_overlays_and_credits(both, tmp_path):
    berlin = both.get("/")
    assert berlin.status_code == 200
    assert 'id="city-switch"' in berlin.text and f'href="/?system={HH}"' in berlin.text
    assert "/api/facilities?category=kita" in berlin.text
    hamburg = both.get("/", params={"system": HH})
    assert hamburg.status_code == 200
    # Berlin's facilities stay on Berlin's map, its indices and supply ratios in its catalog
    assert "/api/facilities?category=" not in hamburg.text
    for key in ("mss_class", "kita_places_per_100_u6", "mss_s1_unemployment"):
        assert f'value="{key}"' in berlin.text and f'value="{key}"' not in hamburg.text
    assert 'value="share_sgb2_recipients"' not in berlin.text
    assert "Anteil der Leistungsempfängerinnen" in hamburg.text
    berlin_file = download(
        both, "/api/exports/regions/berlin-lor-2021/bezirk", tmp_path, indicators="inhabitants"
    )
    hamburg_file = download(
        both, f"/api/exports/regions/{HH}/bezirk", tmp_path, indicators="inhabitants"
    )
    assert pyogrio.read_info(berlin_file)["crs"] == "EPSG:25833"
    assert pyogrio.read_info(hamburg_file)["crs"] == "EPSG:25832"
    berlin_credit = pyogrio.read_info(berlin_file)["dataset_metadata"]["attribution"]
    hamburg_credit = pyogrio.read_info(hamburg_file)["dataset_metadata"]["attribution"]
    assert "Amt für Statistik Berlin-Brandenburg" in berlin_credit
    assert "Statistikamt Nord" not in berlin_credit
    assert "Statistikamt Nord" in hamburg_credit and "Berlin" not in hamburg_credit


@pytest.fixture(scope="module")
def two_city_server(two_city_url, web_settings) -> Iterator[str]:
    yield from serve(two_city_url, web_settings)


def test_city_switch_in_the_browser(page, two_city_server, shots):
    from test_map_page import wait_for_regions

    page.goto(f"{two_city_server}/?level=bezirk")
    wait_for_regions(page, 12)
    page.screenshot(path=shots / "cities-01-berlin.png")
    page.click(f'#city-switch a[href="/?system={HH}"]')
    page.wait_for_url(re.compile(rf"system={HH}"))
    wait_for_regions(page, 100)
    assert "Profil-Einheit" in page.locator("#map-title").inner_text()
    assert "Statistikamt Nord" in page.locator(".leaflet-control-attribution").inner_text()
    page.screenshot(path=shots / "cities-02-hamburg.png")
    page.select_option("#level", "bezirk")
    page.wait_for_url(re.compile(r"level=bezirk"))
    # the share is published for the profile units only: the page says so
    page.wait_for_selector(".problem")
    assert "nur für Profil-Einheit veröffentlicht" in page.locator(".problem").inner_text()
    page.select_option("#indicator", "inhabitants")
    page.wait_for_url(re.compile(r"indicator=inhabitants"))
    wait_for_regions(page, 7)
    page.screenshot(path=shots / "cities-03-hamburg-bezirke.png")
