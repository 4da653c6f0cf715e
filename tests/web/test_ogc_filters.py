"""OGC API – Features Part 3 on the Berlin store: queryables with real types, CQL2 text and
JSON filters evaluated in the database (checked against the unfiltered data), sortby,
properties, unknown parameters refused, and a corpus of malformed or hostile filters that each
get a 400 with a clear message. OWSLib reads queryables and filtered pages from a live server."""

from __future__ import annotations

import json

import httpx
import pytest
from owslib.ogcapi.features import Features

pytestmark = pytest.mark.mirror
KITAS = "/ogc/collections/facilities-kita/items"
BZR = "/ogc/collections/berlin-lor-2021-bzr/items"


def _all(client, path, **params) -> list[dict]:
    body = client.get(path, params={"limit": 5000, **params})
    assert body.status_code == 200, body.text
    return body.json()["features"]


@pytest.fixture(scope="module")
def kitas(client) -> list[dict]:
    return _all(client, KITAS)


def _known(p: dict) -> bool:
    return p["capacity"] is not None


def _ids(features) -> set:
    return {f["id"] for f in features}


def test_queryables_are_a_typed_json_schema(client):
    doc = client.get("/ogc/collections/facilities-kita/queryables")
    assert doc.headers["content-type"].startswith("application/schema+json")
    schema = doc.json()
    assert schema["properties"]["capacity"]["type"] == "integer"
    assert schema["properties"]["name"]["type"] == "string"
    assert schema["properties"]["valid_on"] == {
        "title": "Stand der Quelle",
        "type": "string",
        "format": "date",
    }
    assert schema["properties"]["geometry"]["format"] == "geometry-point"
    regions = client.get("/ogc/collections/berlin-lor-2021-bzr/queryables").json()
    assert regions["properties"]["code"]["type"] == "string"  # codes keep leading zeros
    assert regions["properties"]["area_km2"]["type"] == "number"
    links = client.get("/ogc/collections/facilities-kita").json()["links"]
    assert "http://www.opengis.net/def/rel/ogc/1.0/queryables" in {x["rel"] for x in links}


@pytest.mark.parametrize(
    ("cql", "expected"),
    [
        ("capacity > 150", lambda p: (p["capacity"] or 0) > 150),
        ("capacity BETWEEN 50 AND 60", lambda p: _known(p) and 50 <= p["capacity"] <= 60),
        ("capacity IN (10, 20, 30)", lambda p: p["capacity"] in (10, 20, 30)),
        ("capacity IS NULL", lambda p: p["capacity"] is None),
        ("NOT capacity > 20 AND capacity IS NOT NULL", lambda p: _known(p) and p["capacity"] <= 20),
        (
            "capacity < 12 OR capacity > 300",
            lambda p: _known(p) and not 12 <= p["capacity"] <= 300,
        ),
        ("name LIKE 'Kita%'", lambda p: p["name"].startswith("Kita")),
        ("CASEI(name) LIKE casei('%WALD%')", lambda p: "wald" in p["name"].lower()),
        ("capacity * 2 > 400", lambda p: (p["capacity"] or 0) * 2 > 400),
        ("T_AFTER(valid_on, DATE('2000-01-01'))", lambda p: p["valid_on"] > "2000-01-01"),
        (
            "T_INTERSECTS(valid_on, INTERVAL('..', '2000-01-01'))",
            lambda p: p["valid_on"] <= "2000-01-01",
        ),
    ],
)
def test_cql2_text_filters_select_what_the_data_say(client, kitas, cql, expected):
    got = _all(client, KITAS, filter=cql)
    assert _ids(got) == {f["id"] for f in kitas if expected(f["properties"])}


def test_a_spatial_filter_and_its_json_form_agree(client, kitas):
    west, south, east, north = 13.38, 52.50, 13.42, 52.53
    inside = {
        f["id"]
        for f in kitas
        if west <= f["geometry"]["coordinates"][0] <= east
        and south <= f["geometry"]["coordinates"][1] <= north
    }
    assert 10 < len(inside) < 500
    polygon = (
        f"POLYGON(({west} {south},{east} {south},{east} {north},{west} {north},{west} {south}))"
    )
    text_form = _all(client, KITAS, filter=f"S_INTERSECTS(geometry, {polygon})")
    assert _ids(text_form) == inside
    as_json = {
        "op": "s_intersects",
        "args": [{"property": "geometry"}, {"bbox": [west, south, east, north]}],
    }
    json_form = _all(client, KITAS, filter=json.dumps(as_json), **{"filter-lang": "cql2-json"})
    assert _ids(json_form) == inside
    utm = "http://www.opengis.net/def/crs/EPSG/0/25833"
    boxed = _all(
        client,
        KITAS,
        filter="S_WITHIN(geometry, BBOX(380000,5810000,395000,5820000))",
        **{"filter-crs": utm},
    )
    assert 0 < len(boxed) < len(kitas)


def test_a_text_filter_on_codes_keeps_leading_zeros(client):
    first, second = sorted(_ids(_all(client, BZR, properties="code")))[:2]
    assert first.startswith("0")
    got = _all(client, BZR, filter=f"code IN ('{first}', '{second}') OR name = 'Marzahn Nord'")
    assert _ids(got) == {first, second, "101001"}


def test_sortby_and_properties(client, kitas):
    page = client.get(
        KITAS, params={"sortby": "-capacity,name", "properties": "name,capacity", "limit": 5}
    ).json()
    top = sorted(
        (f for f in kitas if f["properties"]["capacity"] is not None),
        key=lambda f: (-f["properties"]["capacity"], f["properties"]["name"]),
    )[:5]
    assert [f["id"] for f in page["features"]] == [f["id"] for f in top]
    assert all(set(f["properties"]) == {"name", "capacity"} for f in page["features"])
    following = client.get(page["links"][-1]["href"]).json()  # the next page keeps the order
    assert following["features"][0]["properties"]["capacity"] <= top[-1]["properties"]["capacity"]
    ascending = client.get(KITAS, params={"sortby": "+name", "limit": 3}).json()["features"]
    names = [f["properties"]["name"] for f in ascending]
    assert names == sorted(f["properties"]["name"] for f in kitas)[:3]


def test_number_matched_only_where_it_is_cheap(client):
    assert client.get(KITAS, params={"limit": 1}).json()["numberMatched"] == 2880
    assert "numberMatched" not in client.get(KITAS, params={"filter": "capacity > 1"}).json()


HOSTILE = [
    ({"filter": "capacity ="}, "not valid cql2-text"),
    ({"filter": "capacity > 'viele'"}, "compares a int with a text"),
    ({"filter": "nonsense = 1"}, "unknown property 'nonsense'"),
    ({"filter": '"name"; DROP TABLE facilities; --\' = 1'}, "not valid"),
    ({"filter": "name = 'x'); DROP TABLE facilities; --"}, "not valid"),
    ({"filter": "geom_x = 1 OR 1=1"}, "unknown property 'geom_x'"),
    ({"filter": "(" * 60 + "capacity = 1" + ")" * 60}, "nested more than"),
    ({"filter": "NOT " * 1100 + "capacity = 1"}, "characters long"),
    ({"filter": "capacity IN (" + ",".join(["1"] * 600) + ")"}, "IN lists at most"),
    ({"filter": "capacity = NULL"}, "not valid cql2-text"),
    ({"filter": "S_INTERSECTS(geometry, POINT(200 100))"}, "outside longitude/latitude"),
    ({"filter": "S_INTERSECTS(name, POINT(13 52))"}, "not the geometry"),
    ({"filter": "geometry = 1"}, "is the geometry"),
    ({"filter": "ACCENTI(name) = 'x'"}, "not offered"),
    ({"filter": "pg_sleep(10) = 1"}, "function 'pg_sleep' is not offered"),
    ({"filter": "T_AFTER(name, DATE('2020-01-01'))"}, "not a date"),
    ({"filter": "valid_on > DATE('2020-13-45')"}, "'2020-13-45' is not an RFC 3339 date"),
    ({"filter": "{not json", "filter-lang": "cql2-json"}, "not JSON"),
    ({"filter": '{"op": "=", "args": [1]}', "filter-lang": "cql2-json"}, "not valid cql2-json"),
    ({"filter": "capacity = 1", "filter-lang": "sql"}, "filter-lang 'sql'"),
    ({"filter": " "}, "filter is empty"),
    ({"filter": "capacity = 1", "filter-crs": "EPSG:3857"}, "filter-crs"),
    ({"sortby": "-nonsense"}, "sortby 'nonsense'"),
    ({"properties": "name,secret"}, "unknown property 'secret'"),
    ({"filtre": "capacity = 1"}, "unknown parameter 'filtre'"),
]


@pytest.mark.parametrize(("params", "message"), HOSTILE)
def test_malformed_and_hostile_filters_get_a_clear_400(client, params, message):
    response = client.get(KITAS, params=params)
    assert response.status_code == 400, response.text
    assert message in response.json()["detail"]
    assert client.get(KITAS, params={"limit": 1}).json()["numberMatched"] == 2880


@pytest.mark.parametrize(
    "path",
    [
        "/ogc",
        "/ogc/conformance",
        "/ogc/collections",
        "/ogc/collections/facilities-kita",
        "/ogc/collections/facilities-kita/queryables",
    ],
)
def test_unknown_parameters_are_refused_everywhere(client, path):
    response = client.get(path, params={"lmit": 10})
    assert response.status_code == 400
    assert "unknown parameter 'lmit'" in response.json()["detail"]


def test_owslib_reads_queryables_and_filtered_sorted_pages(server_process):
    api = Features(server_process + "/ogc")
    assert "capacity" in api.collection_queryables("facilities-kita")["properties"]
    page = api.collection_items(
        "facilities-kita",
        filter="capacity > 200",
        sortby=("capacity", "desc"),
        properties="name,capacity",
        limit=10,
    )
    capacities = [f["properties"]["capacity"] for f in page["features"]]
    assert capacities and capacities == sorted(capacities, reverse=True)
    assert min(capacities) > 200
    assert set(page["features"][0]["properties"]) == {"name", "capacity"}
    conformance = httpx.get(server_process + "/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in conformance
