"""The OGC API in German HTML (``f=html`` or a browser's Accept header): landing page,
collections, a collection, a page of features with its paging links; JSON stays the
default for clients that do not ask for HTML."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.mirror

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def _page(client, path: str, **params) -> str:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert '<html lang="de">' in response.text
    return response.text


def _hrefs(html: str) -> list[str]:
    return re.findall(r'href="([^"]+)"', html)


def test_the_landing_page_and_collections_in_german(client):
    """f=html was refused with 400."""
    landing = _page(client, "/ogc", f="html")
    assert "Sammlungen" in landing and "API-Definition (OpenAPI 3.0)" in landing
    listing = _page(client, "/ogc/collections", f="html")
    assert "Bezirksregion (berlin-lor-2021)" in listing
    assert any(h.endswith("/ogc/collections/facilities-kita?f=html") for h in _hrefs(listing))
    one = _page(client, "/ogc/collections/berlin-lor-2021-bzr", f="html")
    assert "Objekte" in one and "Vektorkacheln" in one and "Lizenz" in one


def test_descriptions_are_german_on_the_pages_and_english_in_json(client):
    """The pages showed the JSON's English descriptions."""
    listing = _page(client, "/ogc/collections", f="html")
    assert "Kitas (Punkte)" in listing and "Veröffentlichte Projekte" in listing
    assert "mit den Indikatorwerten eines Zeitraums" in listing
    assert "facilities (points)" not in listing and "Public projects" not in listing
    one = _page(client, "/ogc/collections/berlin-lor-2021-bzr", f="html")
    assert "Bezirksregion (berlin-lor-2021) mit den Indikatorwerten" in one
    assert "Einrichtungen und veröffentlichte Projekte" in _page(client, "/ogc", f="html")
    doc = client.get("/ogc/collections/facilities-kita").json()
    assert doc["description"].endswith("facilities (points)")


def test_a_page_of_features_is_drawn_on_a_map(page, live_server, shots):
    """The item pages had a table only."""
    url = f"{live_server}/ogc/collections/facilities-kita/items?f=html&limit=25"
    page.goto(url)
    page.wait_for_selector("#ogc-map[data-features]")
    assert page.locator("#ogc-map").get_attribute("data-features") == "25"
    assert page.locator("#ogc-map path.leaflet-interactive").count() == 25
    page.goto(f"{live_server}/ogc/collections/berlin-lor-2021-bzr/items?f=html&limit=10")
    page.wait_for_selector("#ogc-map[data-features]")
    assert page.locator("#ogc-map path.leaflet-interactive").count() == 10
    page.screenshot(path=shots / "ogc-items-map.png")


def test_a_page_of_features_with_german_numbers_and_paging(client):
    html = _page(client, "/ogc/collections/facilities-kita/items", f="html", limit=5)
    assert "2.880 Objekte insgesamt, 5 auf dieser Seite" in html
    assert html.count("<tr>") == 6  # the header and five features
    following = next(h for h in _hrefs(html) if "offset=5" in h)
    assert "f=html" in following
    regions = _page(client, "/ogc/collections/berlin-lor-2021-bzr/items", f="html", limit=3)
    assert re.search(r"<td>\d+,\d\d</td>", regions)  # a share with a decimal comma


def test_browsers_get_html_and_clients_json(client):
    browser = client.get("/ogc/collections", headers={"Accept": BROWSER})
    assert browser.headers["content-type"].startswith("text/html")
    gis = client.get("/ogc/collections", headers={"Accept": "application/json"})
    assert gis.headers["content-type"].startswith("application/json")
    anything = client.get("/ogc/collections")
    assert anything.headers["content-type"].startswith("application/json")
    assert (
        "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html"
        in client.get("/ogc/conformance").json()["conformsTo"]
    )


def test_an_unknown_format_is_still_refused(client):
    response = client.get("/ogc/collections", params={"f": "xml"})
    assert response.status_code == 400 and "f=json or f=html" in response.json()["detail"]


def test_a_collection_links_the_licences_of_its_sources(client):
    doc = client.get("/ogc/collections/berlin-lor-2021-bzr").json()
    licences = {link["href"]: link["title"] for link in doc["links"] if link["rel"] == "license"}
    assert licences["https://www.govdata.de/dl-de/by-2-0"].startswith("Datenlizenz Deutschland")
    assert "https://creativecommons.org/licenses/by/3.0/de/" in licences
    html = _page(client, "/ogc/collections/berlin-lor-2021-bzr", f="html")
    assert 'href="https://www.govdata.de/dl-de/by-2-0"' in html
