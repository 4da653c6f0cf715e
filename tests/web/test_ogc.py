"""OGC API – Features with real clients against a live server on the Berlin store: GDAL's OAPIF
driver (through pyogrio) and OWSLib list the collections and read every collection completely,
page by page, in CRS84 and EPSG:25833; single items; bad requests give a clear 4xx."""

from __future__ import annotations

import httpx
import numpy as np
import pyogrio
import pytest
from owslib.ogcapi.features import Features

pytestmark = pytest.mark.mirror

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
UTM = "http://www.opengis.net/def/crs/EPSG/0/25833"
EXPECTED = {  # collection → features in the Berlin store
    "berlin-lor-2021-bezirk": 12,
    "berlin-lor-2021-pgr": 58,
    "berlin-lor-2021-bzr": 143,
    "berlin-lor-2021-plr": 542,
    "berlin-lor-2019-bezirk": 12,
    "berlin-lor-2019-plr": 448,
    "facilities-kita": 2880,
    "facilities-schule": 902,
    "facilities-jugendfreizeiteinrichtung": 407,
    "facilities-pflegeeinrichtung": 274,
    "facilities-apotheke": 732,
}


def test_landing_conformance_and_collections(server_process):
    live_server = server_process
    landing = httpx.get(f"{live_server}/ogc").json()
    assert {link["rel"] for link in landing["links"]} >= {"conformance", "data", "service-desc"}
    conformance = httpx.get(f"{live_server}/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in conformance
    collections = httpx.get(f"{live_server}/ogc/collections").json()["collections"]
    ids = [c["id"] for c in collections]
    assert set(EXPECTED) <= set(ids) and "projects" in ids
    plr = httpx.get(f"{live_server}/ogc/collections/berlin-lor-2021-plr").json()
    assert plr["crs"] == [CRS84, UTM] and plr["storageCrs"] == UTM
    assert "inhabitants" in plr["properties"]
    assert plr["extent"]["temporal"]["interval"][0][1].startswith("2024-12-31")


@pytest.mark.parametrize("crs", [CRS84, UTM])
def test_gdal_reads_every_collection_across_pages(server_process, crs):
    live_server = server_process
    source = f"OAPIF:{live_server}/ogc"
    layers = {name for name, _ in pyogrio.list_layers(source)}
    assert set(EXPECTED) <= layers
    for collection, count in EXPECTED.items():
        frame = pyogrio.read_dataframe(source, layer=collection, PAGE_SIZE=250, CRS=crs)
        assert len(frame) == count, collection
        assert frame.crs.to_string() == ("OGC:CRS84" if crs == CRS84 else "EPSG:25833")
        if collection == "berlin-lor-2021-plr":
            assert frame["code"].is_unique
            total = frame.to_crs(25833).area.sum() / 1e6
            assert total == pytest.approx(890.67, rel=0.001)  # km², full geometry
            assert frame["inhabitants"].sum() == pytest.approx(3_897_145)
        if collection.startswith("facilities-"):
            bounds = frame.to_crs(4326).total_bounds
            assert bounds[0] > 13.0 and bounds[2] < 13.8 and bounds[1] > 52.3 and bounds[3] < 52.7


@pytest.mark.parametrize("crs", [CRS84, UTM])
def test_owslib_reads_collections_page_by_page(server_process, crs):
    live_server = server_process
    api = Features(f"{live_server}/ogc")
    listed = {c["id"] for c in api.collections()["collections"]}
    assert set(EXPECTED) <= listed
    for collection in ("berlin-lor-2021-bzr", "facilities-pflegeeinrichtung"):
        seen, offset = [], 0
        while True:
            page = api.collection_items(collection, limit=100, offset=offset, crs=crs)
            seen += [f["id"] for f in page["features"]]
            assert page["numberReturned"] == len(page["features"]) <= 100
            if not any(link["rel"] == "next" for link in page["links"]):
                break
            offset += 100
        assert len(seen) == len(set(seen)) == EXPECTED[collection]
        x = page["features"][0]["geometry"]["coordinates"]
        first = np.array(x).ravel()[0]
        assert (13 < first < 14) if crs == CRS84 else (370_000 < first < 420_000)


def test_items_filters_datetime_bbox_and_single_item(server_process):
    live_server = server_process
    base = f"{live_server}/ogc/collections"
    one = httpx.get(f"{base}/berlin-lor-2021-bzr/items", params={"name": "Marzahn Nord"}).json()
    assert [f["id"] for f in one["features"]] == ["101001"]
    older = httpx.get(
        f"{base}/berlin-lor-2021-bzr/items",
        params={"code": "101001", "datetime": "2021-06-30", "indicators": "inhabitants"},
    ).json()["features"][0]["properties"]["inhabitants"]
    newer = one["features"][0]["properties"]["inhabitants"]
    assert older != newer and older > 0
    boxed = httpx.get(
        f"{base}/berlin-lor-2021-plr/items",
        params={"bbox": "402000,5824500,403500,5825500", "bbox-crs": UTM, "limit": 50},
    ).json()
    assert 0 < boxed["numberReturned"] < 20
    assert any(f["id"].startswith("101001") for f in boxed["features"])  # Marzahn Nord
    item = httpx.get(f"{base}/berlin-lor-2021-bzr/items/101001", params={"crs": UTM})
    assert item.headers["content-crs"] == f"<{UTM}>"
    assert item.json()["properties"]["name"] == "Marzahn Nord"
    kitas = httpx.get(f"{base}/facilities-kita/items", params={"datetime": "2022-12-31/.."})
    assert kitas.json()["numberReturned"] == 100
    none = httpx.get(f"{base}/facilities-kita/items", params={"datetime": "../2000-01-01"})
    assert none.json()["numberReturned"] == 0


@pytest.mark.parametrize(
    ("path", "params", "status", "message"),
    [
        ("/collections/nope/items", {}, 404, "unknown collection 'nope'"),
        ("/collections/berlin-lor-2021-bzr/items", {"bbox": "1,2,3"}, 400, "four numbers"),
        ("/collections/berlin-lor-2021-bzr/items", {"bbox": "a,b,c,d"}, 400, "bbox"),
        ("/collections/berlin-lor-2021-bzr/items", {"bbox": "14,53,13,52"}, 400, "minx < maxx"),
        ("/collections/berlin-lor-2021-bzr/items", {"limit": "20000"}, 400, "over the maximum"),
        ("/collections/berlin-lor-2021-bzr/items", {"limit": "0"}, 422, "limit"),
        ("/collections/berlin-lor-2021-bzr/items", {"crs": "EPSG:3857"}, 400, "not offered"),
        ("/collections/berlin-lor-2021-bzr/items", {"bbox-crs": "urn:x"}, 400, "bbox-crs"),
        ("/collections/berlin-lor-2021-bzr/items", {"f": "xml"}, 400, "format 'xml'"),
        ("/collections/berlin-lor-2021-bzr/items", {"datetime": "gestern"}, 400, "RFC 3339"),
        ("/collections/facilities-kita/items", {"capacity": "viele"}, 400, "int property"),
        ("/collections/berlin-lor-2021-bzr/items", {"indicators": "nope"}, 404, "'nope'"),
        ("/collections/berlin-lor-2021-bzr/items/999999", {}, 404, "no feature"),
    ],
)
def test_bad_requests_get_a_clear_4xx(client, path, params, status, message):
    response = client.get(f"/ogc{path}", params=params)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize("level", ["plr", "bzr", "pgr", "bezirk"])
def test_every_polygon_stays_valid_after_rounding_to_crs84_decimals(client, level):
    """Rounding to 6 decimals made rings of PLR 10100205 and its parents touch (invalid in
    QGIS); the output is snapped to that grid by a precision reducer instead."""
    import shapely
    from shapely.geometry import shape

    page = client.get(
        f"/ogc/collections/berlin-lor-2021-{level}/items", params={"limit": 1000}
    ).json()
    shapes = [shape(f["geometry"]) for f in page["features"]]
    assert len(shapes) == {"plr": 542, "bzr": 143, "pgr": 58, "bezirk": 12}[level]
    invalid = [f["id"] for f, s in zip(page["features"], shapes, strict=True) if not s.is_valid]
    assert invalid == []
    assert {s.geom_type for s in shapes} == {"MultiPolygon"}  # repaired ones keep their kind
    xs = shapely.get_coordinates(shapes[:20])[:, 0]
    assert max(len(repr(float(x)).split(".")[-1]) for x in xs) <= 6


def test_the_collection_list_gives_each_collection_its_own_extent(client):
    listed = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
    west, south, east, north = listed["berlin-lor-2021-plr"]["extent"]["spatial"]["bbox"][0]
    assert 13.0 < west < 13.2 and 52.3 < south < 52.4 and 13.7 < east < 13.8 and 52.6 < north < 52.7
    own = client.get("/ogc/collections/berlin-lor-2021-plr").json()["extent"]["spatial"]["bbox"]
    assert np.allclose(listed["berlin-lor-2021-plr"]["extent"]["spatial"]["bbox"], own, atol=1e-3)
    kitas = listed["facilities-kita"]["extent"]["spatial"]["bbox"][0]
    assert 13.0 < kitas[0] < 13.8 and kitas[2] < 13.8
