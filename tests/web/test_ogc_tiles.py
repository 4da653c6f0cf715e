"""OGC API – Tiles beside the features: the tile matrix set, tilesets reachable from the
landing page and each collection, tiles by tileMatrix/tileRow/tileCol (the same bytes as the
plain tiles), the default style, and the refusals."""

from __future__ import annotations

import mapbox_vector_tile
import pytest

pytestmark = pytest.mark.mirror

TILES_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
MARZAHN_Z12 = (12, 2202, 1342)  # z, column (x), row (y)


def _link(doc: dict, rel: str) -> dict:
    return next(link for link in doc["links"] if link["rel"] == rel)


def test_tiles_are_reachable_from_the_landing_page(client):
    landing = client.get("/ogc").json()
    schemes = _link(landing, "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes")
    sets = client.get(schemes["href"].removeprefix("http://testserver")).json()
    assert [s["id"] for s in sets["tileMatrixSets"]] == ["WebMercatorQuad"]
    tms = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert tms["crs"].endswith("EPSG/0/3857") and len(tms["tileMatrices"]) == 23
    z12 = tms["tileMatrices"][12]
    assert z12["matrixWidth"] == 4096 and z12["cellSize"] == pytest.approx(38.2185, abs=1e-3)
    conformance = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in conformance


def test_a_collection_links_its_tileset_and_the_template_gives_the_tile(client):
    collection = client.get("/ogc/collections/berlin-lor-2021-bzr").json()
    tilesets = client.get(_link(collection, TILES_REL)["href"].removeprefix("http://testserver"))
    listed = tilesets.json()["tilesets"]
    assert len(listed) == 1 and listed[0]["dataType"] == "vector"
    metadata_url = _link(listed[0], "self")["href"].removeprefix("http://testserver")
    metadata = client.get(metadata_url).json()
    assert metadata["tileMatrixSetURI"].endswith("WebMercatorQuad")
    assert metadata["layers"][0]["id"] == "berlin-lor-2021-bzr"
    assert metadata["layers"][0]["propertiesSchema"]["properties"]["code"]["type"] == "string"
    lower, upper = metadata["boundingBox"]["lowerLeft"], metadata["boundingBox"]["upperRight"]
    assert 13.0 < lower[0] < upper[0] < 13.8
    template = _link(metadata, "item")["href"].removeprefix("http://testserver")
    z, x, y = MARZAHN_Z12
    url = template.format(tileMatrix=z, tileRow=y, tileCol=x)
    ogc = client.get(url)
    plain = client.get(f"/tiles/berlin-lor-2021-bzr/{z}/{x}/{y}.mvt")
    assert ogc.status_code == 200 and ogc.headers["content-type"] == plain.headers["content-type"]
    assert ogc.content == plain.content
    codes = {
        f["properties"]["code"]
        for f in mapbox_vector_tile.decode(ogc.content)["berlin-lor-2021-bzr"]["features"]
    }
    assert "101001" in codes


def test_the_default_style_is_linked_and_classed(client):
    metadata = client.get("/ogc/collections/berlin-lor-2021-plr/tiles/WebMercatorQuad").json()
    style_url = metadata["style"]["links"][0]["href"].removeprefix("http://testserver")
    style = client.get(style_url).json()
    fills = [layer for layer in style["layers"] if layer["type"] == "fill"]
    assert len(fills) >= 5  # the legend classes and the regions without a value
    source = style["sources"]["berlin-lor-2021-plr"]
    assert source["url"].endswith("/tiles/berlin-lor-2021-plr.json")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/ogc/tileMatrixSets/WorldCRS84Quad", 404, "unknown tile matrix set"),
        ("/ogc/collections/berlin-lor-2021-bzr/tiles/WorldCRS84Quad", 404, "WebMercatorQuad"),
        ("/ogc/collections/nope/tiles", 404, "unknown collection"),
        ("/ogc/collections/berlin-lor-2021-bzr/tiles/WebMercatorQuad/2/0/4", 400, "not exist"),
        ("/ogc/collections/berlin-lor-2021-bzr/tiles/WebMercatorQuad/1/0/0?x=1", 400, "'x'"),
    ],
)
def test_bad_tile_requests_are_refused(client, path, status, message):
    response = client.get(path)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]
