"""Vector tiles decoded with mapbox-vector-tile: the expected regions with their indicator values
and facilities in the tile, simplification by zoom, TileJSON, ETag/304 and bad tiles."""

from __future__ import annotations

import json
import math

import mapbox_vector_tile
import pandas as pd
import pytest

from layers.classify import classify
from layers.indicators import get_indicator
from web.tilesets import class_filters

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
        ("/tiles/berlin-lor-2021-bzr/1/a/0.mvt", 422, "x: must be a whole number"),
        ("/tiles/berlin-lor-2021-bzr/1/0/-1.mvt", 422, "y: must be a whole number"),
        ("/tiles/berlin-lor-2021-bzr/\u0661/0/0.mvt", 422, "z: must be a whole number"),
        ("/ogc/collections/berlin-lor-2021-bzr/tiles/WebMercatorQuad/23/0/0", 422, "tile_matrix"),
        ("/ogc/collections/berlin-lor-2021-bzr/tiles/WebMercatorQuad/1/0/x", 422, "tile_col"),
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


def _berlin_tiles(z: int) -> list[tuple[int, int]]:
    """The tiles of zoom z over Berlin's extent (13.08–13.77 E, 52.33–52.68 N)."""

    def column(lon: float) -> int:
        return int((lon + 180) / 360 * 2**z)

    def row(lat: float) -> int:
        return int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)

    return [
        (x, y)
        for x in range(column(13.08), column(13.77) + 1)
        for y in range(row(52.68), row(52.33) + 1)
    ]


@pytest.mark.parametrize("z", [1, 2, 3, 4, 5])
def test_dense_points_are_thinned_to_the_byte_budget(client, z):
    """Kita tiles at z1–z5 carried every point (381 KB each). Now a grid cell keeps one point
    with the number it stands for: every tile is under the budget and the counts of the
    points inside the tiles add up to every Kita."""
    total = client.get("/ogc/collections/facilities-kita/items", params={"limit": 1}).json()
    counted = 0
    for x, y in _berlin_tiles(z):
        response = client.get(f"/tiles/facilities-kita/{z}/{x}/{y}.mvt")
        assert response.status_code == 200
        assert len(response.content) <= 200_000, (z, x, y, len(response.content))
        layer = mapbox_vector_tile.decode(response.content).get("facilities-kita")
        if layer is None:
            continue
        assert len(layer["features"]) <= 1_100  # the grid: about 1000 cells and the buffer
        for feature in layer["features"]:
            px, py = feature["geometry"]["coordinates"]
            if 0 <= px < 4096 and 0 < py <= 4096:  # inside the tile, not in its buffer
                counted += feature["properties"].get("point_count", 1)
    assert counted == total["numberMatched"] > 2_000


def test_sparse_point_tiles_are_not_thinned(client):
    kitas = decode(client, "facilities-kita", *MARZAHN_Z14)["facilities-kita"]["features"]
    assert kitas and not any("point_count" in f["properties"] for f in kitas)


def test_a_small_budget_thins_harder(berlin_url):
    """The budget is a setting: 50 points and 2 KB per tile give a coarser grid."""
    from fastapi.testclient import TestClient

    from spatial.settings import StoreSettings
    from web.app import create_app
    from web.settings import Settings, WebSettings

    web = WebSettings(refresh_store=False, tile_max_points=50, tile_max_bytes=2_000)
    app = create_app(Settings(web=web, store=StoreSettings(database_url=berlin_url)))
    with TestClient(app) as small:
        x, y = _berlin_tiles(5)[0]
        data = small.get(f"/tiles/facilities-kita/5/{x}/{y}.mvt").content
    features = mapbox_vector_tile.decode(data)["facilities-kita"]["features"]
    assert len(features) <= 60 and max(f["properties"]["point_count"] for f in features) > 50


def test_metadata_json_describes_the_layer_for_gdal(client):
    meta = client.get("/tiles/facilities-kita/metadata.json").json()
    assert meta["format"] == "pbf" and meta["minzoom"] == "0" and int(meta["maxzoom"]) >= 14
    west, south, east, north = (float(v) for v in meta["bounds"].split(","))
    assert 13.0 < west < east < 13.8 and 52.3 < south < north < 52.7
    layers = json.loads(meta["json"])["vector_layers"]
    assert layers[0]["id"] == "facilities-kita"
    assert layers[0]["fields"]["capacity"] == "Number"
    assert layers[0]["fields"]["point_count"] == "Number"
    assert "Lizenz" in meta["attribution"]
    tile = client.get("/tiles/facilities-kita/{}/{}/{}.pbf".format(*MARZAHN_Z14))
    assert tile.status_code == 200 and mapbox_vector_tile.decode(tile.content)


def test_style_has_one_fill_per_legend_class(client):
    params = {"indicators": "share_age_above_65"}
    style = client.get("/tiles/berlin-lor-2021-bzr/style.json", params=params)
    assert style.headers["content-type"].startswith("application/vnd.mapbox.style+json")
    doc = style.json()
    assert doc["version"] == 8
    source = doc["sources"]["berlin-lor-2021-bzr"]
    assert source["type"] == "vector" and "indicators=share_age_above_65" in source["url"]
    fills = [layer for layer in doc["layers"] if layer["id"].endswith(tuple("0123456789"))]
    colours = [layer["paint"]["fill-color"] for layer in fills]
    assert len(colours) == len(set(colours)) >= 4
    no_value = next(layer for layer in doc["layers"] if layer["id"].endswith("no-value"))
    assert no_value["filter"] == ["!has", "share_age_above_65"]
    # the classes split every value of the layer exactly once
    values = [
        r["value"]
        for r in client.get(
            "/api/values/berlin-lor-2021/bzr/share_age_above_65", params={"period": "2024-12-31"}
        ).json()["regions"]
        if r["value"] is not None
    ]
    for value in values:
        matched = [f for f in fills if _matches(f["filter"], "share_age_above_65", value)]
        assert len(matched) == 1, value


def _matches(expression: list, key: str, value: float) -> bool:
    op, *args = expression
    if op == "all":
        return all(_matches(a, key, value) for a in args)
    if op == "has":
        return True
    bound = args[1]
    return {">": value > bound, ">=": value >= bound, "<": value < bound, "<=": value <= bound}[op]


@pytest.mark.parametrize(
    ("level", "indicator", "period"),
    [("bzr", "share_age_above_65", "2024-12-31"), ("plr", "mss_class", "2020-12-31")],
)
def test_style_classes_are_the_choropleths(client, level, indicator, period):
    """Each region falls into the style's class of the colour the choropleth gives it: a
    value on a break belonged to the next class in the style, and the fixed classes of a
    class indicator (no lower bounds) matched every fill."""
    layer = f"berlin-lor-2021-{level}"
    params = {"indicators": indicator, "period": period}
    fills = [
        f
        for f in client.get(f"/tiles/{layer}/style.json", params=params).json()["layers"]
        if f["id"].endswith(tuple("0123456789"))
    ]
    features = client.get(
        f"/api/choropleth/berlin-lor-2021/{level}/{indicator}", params={"period": period}
    ).json()["features"]
    checked = 0
    for feature in features:
        props = feature["properties"]
        if props["value"] is None:
            continue
        matched = [f for f in fills if _matches(f["filter"], indicator, props["value"])]
        assert [f["paint"]["fill-color"] for f in matched] == [props["colour"]], props
        checked += 1
    assert checked > 100


def test_a_value_on_a_threshold_is_classed_as_the_server_classes_it(berlin_engine):
    """The MSS status index's first class is *below* −1.0, the others *up to* 1.0 and 1.5:
    the style read every break as the upper end of its class, so −1.0 fell into the wrong one."""
    with berlin_engine.connect() as conn:
        meta = get_indicator(conn, "mss_status_index")
    values = [-1.0, 1.0, 1.5, -1.2, 0.3, 1.2, 2.0]
    rows = pd.DataFrame({"value": values, "status": ["valid"] * len(values)})
    klass = classify(rows, meta, "fixed")
    assert klass.exclusive == [True, False, False]
    for value, number in zip(values, klass.region_class, strict=True):
        matched = [
            i
            for i in range(len(klass.classes))
            if _matches(["all", *class_filters(klass, "v", i)], "v", value)
        ]
        assert matched == [number], value


def test_point_styles_take_the_category_colour(client):
    kitas = client.get("/tiles/facilities-kita/style.json").json()
    circles = [layer for layer in kitas["layers"] if layer["type"] == "circle"]
    assert len(circles) == 1 and circles[0]["paint"]["circle-color"].startswith("#")
    outline = client.get("/tiles/berlin-lor-2021-bzr/style.json", params={"indicators": ""})
    assert outline.status_code == 200


def test_the_tile_routes_document_their_parameters(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path, names in (
        ("/tiles/{layer}/{z}/{x}/{y}.mvt", ("z", "x", "y")),
        (
            "/ogc/collections/{collection_id}/tiles/{tms}/{tile_matrix}/{tile_row}/{tile_col}",
            ("tile_matrix", "tile_col", "tile_row"),
        ),
    ):
        given = {p["name"]: p for p in paths[path]["get"]["parameters"]}
        assert given[names[0]]["schema"] == {"type": "integer", "minimum": 0, "maximum": 22}
        assert all(given[n]["required"] and given[n]["in"] == "path" for n in names)
        assert given["period"]["schema"]["format"] == "date"
        assert "indicators" in given
