"""Vector tiles decoded with mapbox-vector-tile: the expected regions with their indicator values
and facilities in the tile, simplification by zoom, TileJSON, ETag/304 and bad tiles."""

from __future__ import annotations

import math

import mapbox_vector_tile
import pytest

pytestmark = pytest.mark.mirror

MARZAHN_Z12 = (12, 2202, 1342)  # the tile around Marzahn Nord
MARZAHN_Z14 = (14, 8809, 5369)


def decode(client, layer: str, z: int, x: int, y: int, **params) -> dict:
    response = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    return mapbox_vector_tile.decode(response.content)


def test_region_tile_has_the_regions_and_their_values(client):
    layer = decode(client, "berlin-lor-2021-bzr", *MARZAHN_Z12)["berlin-lor-2021-bzr"]
    by_code = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert "101001" in by_code and "101002" in by_code
    marzahn = by_code["101001"]
    assert marzahn["name"] == "Marzahn Nord"
    table = client.get(
        "/api/values/berlin-lor-2021/bzr/share_age_above_65", params={"period": "2024-12-31"}
    ).json()
    expected = next(r["value"] for r in table["regions"] if r["code"] == "101001")
    assert marzahn["share_age_above_65"] == pytest.approx(expected)
    assert marzahn["inhabitants"] > 10_000
    chosen = decode(
        client, "berlin-lor-2021-plr", *MARZAHN_Z12, indicators="mss_status_index_class"
    )["berlin-lor-2021-plr"]
    classes = {f["properties"].get("mss_status_index_class") for f in chosen["features"]}
    assert classes & {1, 2, 3, 4} and "inhabitants" not in chosen["features"][0]["properties"]


def test_geometry_is_simplified_by_zoom(client):
    def vertices(z, x, y):
        tile = decode(client, "berlin-lor-2021-bezirk", z, x, y)
        layer = tile.get("berlin-lor-2021-bezirk", {"features": []})
        return sum(len(str(f["geometry"]["coordinates"])) for f in layer["features"])

    # the same Bezirk boundary stretch: coarser zooms carry far fewer vertices per tile area
    coarse = vertices(9, 275, 167)
    fine = sum(vertices(12, x, y) for x in range(2200, 2208) for y in range(1336, 1344))
    assert 0 < coarse < fine
    again = client.get("/tiles/berlin-lor-2021-bezirk/9/275/167.mvt").content
    assert len(again) > 0


def test_facility_tile_and_tilejson(client):
    kitas = decode(client, "facilities-kita", *MARZAHN_Z14)["facilities-kita"]
    assert kitas["features"] and all(f["geometry"]["type"] == "Point" for f in kitas["features"])
    assert {"name", "capacity", "address"} <= set(kitas["features"][0]["properties"])
    assert all(isinstance(f["id"], int) for f in kitas["features"])
    tilejson = client.get("/tiles/berlin-lor-2021-bzr.json").json()
    assert tilejson["tilejson"] == "3.0.0"
    assert tilejson["tiles"][0].endswith("/tiles/berlin-lor-2021-bzr/{z}/{x}/{y}.mvt")
    assert "Amt für Statistik" in tilejson["attribution"]
    fields = tilejson["vector_layers"][0]["fields"]
    assert fields["code"] == "String" and fields["inhabitants"] == "Number"
    west, south, east, north = tilejson["bounds"]
    assert 13.0 < west < 13.2 < 13.7 < east < 13.8 and 52.3 < south < 52.4 < 52.6 < north < 52.7


def test_etag_and_cache_control(client):
    url = "/tiles/berlin-lor-2021-bzr/{}/{}/{}.mvt".format(*MARZAHN_Z12)
    first = client.get(url)
    assert first.headers["cache-control"].startswith("public, max-age=")
    etag = first.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = client.get(url, params={"indicators": "inhabitants"})
    assert other.headers["etag"] != etag


def test_empty_tile_outside_berlin(client):
    response = client.get("/tiles/berlin-lor-2021-bzr/12/0/0.mvt")
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/tiles/nope/1/0/0.mvt", 404, "unknown collection"),
        ("/tiles/berlin-lor-2021-bzr/2/4/0.mvt", 400, "does not exist"),
        ("/tiles/berlin-lor-2021-bzr/23/0/0.mvt", 422, "z"),
        ("/tiles/berlin-lor-2021-bzr/1/0/0.mvt?indicators=nope", 404, "'nope'"),
        ("/tiles/berlin-lor-2021-bzr/1/0/0.mvt?period=gestern", 422, "period"),
    ],
)
def test_bad_tiles_are_refused(client, path, status, message):
    response = client.get(path)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    ("z", "layer", "least"),
    [(0, "bezirk", 6), (1, "bezirk", 10), (2, "bzr", 60), (4, "plr", 500)],
)
def test_tiles_of_the_lowest_zooms_hold_the_city(client, z, layer, least):
    """TileJSON says minzoom 0; the tile of zoom 0 came out empty (the world's tile cannot be
    expressed in the storage CRS). Berlin is a few tile units wide at zoom 0: regions
    smaller than a unit drop out, the others are there."""
    n = 2**z
    x, y = (
        int((13.4 + 180) / 360 * n),
        int((1 - math.asinh(math.tan(math.radians(52.52))) / math.pi) / 2 * n),
    )
    layer_id = f"berlin-lor-2021-{layer}"
    features = decode(client, layer_id, z, x, y)[layer_id]["features"]
    assert len(features) >= least
    if z > 0:  # the other side of the world holds nothing, answered without a query
        far = client.get(f"/tiles/{layer_id}/{z}/{(x + n // 2) % n}/{y}.mvt")
        assert far.status_code == 200 and far.content == b""
