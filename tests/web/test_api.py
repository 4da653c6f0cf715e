"""The JSON API on the real Berlin store: every endpoint, parsed and checked, and the errors a
user can cause (404 unknown things, 422 bad parameters, never 500)."""

from __future__ import annotations

import pytest
from shapely.geometry import shape

pytestmark = pytest.mark.mirror
LOR = "berlin-lor-2021"


def test_regions_of_a_level_as_geojson(client):
    response = client.get(f"/api/systems/{LOR}/levels/bzr/regions")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    body = response.json()
    features = body["features"]
    assert len(features) == 143
    marzahn = next(f for f in features if f["id"] == "101001")
    assert marzahn["properties"]["name"] == "Marzahn Nord"
    assert marzahn["properties"]["parent_code"] == "1010"
    geometry = shape(marzahn["geometry"])
    assert (
        geometry.is_valid
        and 13.5 < geometry.centroid.x < 13.6
        and 52.5 < geometry.centroid.y < 52.6
    )
    # coordinates rounded to 5 decimals (about 1 m)
    x, y = marzahn["geometry"]["coordinates"][0][0][0]
    assert round(x, 5) == x and round(y, 5) == y
    assert abs(marzahn["properties"]["area_km2"] - 2.594) < 0.01


def test_regions_bbox_and_limit(client, web_settings):
    inside = client.get(
        f"/api/systems/{LOR}/levels/plr/regions", params={"bbox": "13.5,52.5,13.6,52.6"}
    ).json()["features"]
    assert 0 < len(inside) < 542
    assert len(client.get(f"/api/systems/{LOR}/levels/plr/regions?limit=7").json()["features"]) == 7
    over = client.get(
        f"/api/systems/{LOR}/levels/plr/regions?limit={web_settings.max_features + 1}"
    )
    assert over.status_code == 422 and "over the cap" in over.json()["detail"]


def test_one_region_with_parents_children_and_values(client):
    body = client.get(
        f"/api/systems/{LOR}/regions/101001",
        params={"indicators": "inhabitants,share_age_below_6", "period": "2024-12-31"},
    ).json()
    assert [p["code"] for p in body["parents"]] == ["10", "1010"]
    assert [c["code"] for c in body["children"]][:2] == ["10100101", "10100102"]
    assert all(c["code"].startswith("101001") for c in body["children"])
    values = {v["indicator"]: v for v in body["values"]}
    people = values["inhabitants"]
    assert people["period"] == "2024-12-31" and people["status"] == "valid"
    plr = client.get(f"/api/values/{LOR}/plr/inhabitants?period=2024-12-31").json()["regions"]
    assert people["value"] == sum(r["value"] for r in plr if r["code"].startswith("101001"))
    assert people["city_label"] == "3.897.145 Personen"
    assert values["share_age_below_6"]["label"].endswith(" %")
    assert len(body["bbox"]) == 4 and body["geometry"]["type"] == "MultiPolygon"


def test_catalog_grouped_by_topic(client):
    topics = {t["topic"]: t["indicators"] for t in client.get("/api/indicators").json()}
    assert {"Bevölkerung", "Soziale Lage (MSS)", "Versorgung"} <= set(topics)
    people = next(i for i in topics["Bevölkerung"] if i["key"] == "inhabitants")
    assert (
        people["name_en"]
        and people["unit"] == "Personen"
        and "Amt für Statistik" in people["attribution"]
    )
    one = client.get("/api/indicators/share_age_below_6").json()
    assert one["expression"] == "inhabitants_age_below_6 / inhabitants * 100"
    assert one["periods"][-1] == "2024-12-31" and len(one["periods"]) == 8


def test_values_table_with_reference_values(client):
    body = client.get(f"/api/values/{LOR}/bezirk/share_foreigners").json()
    assert body["period"] == "2024-12-31" and len(body["regions"]) == 12
    assert body["city_label"] == "24,9 %"
    mitte = body["regions"][0]
    assert mitte["code"] == "01" and mitte["label"].endswith(" %") and "," in mitte["label"]


def test_choropleth_feature_collection(client):
    response = client.get(
        f"/api/choropleth/{LOR}/plr/share_age_above_65",
        params={"method": "fisher_jenks", "classes": 6},
    )
    assert response.status_code == 200
    body = response.json()
    features = body["features"]
    assert len(features) == 542
    legend = body["legend"]
    assert legend["method"] == "fisher_jenks" and len(legend["classes"]) == 6
    counted = sum(c["count"] for c in legend["classes"]) + sum(c["count"] for c in legend["other"])
    assert counted == 542
    colours = {c["colour"] for c in legend["classes"]}
    valid = [f["properties"] for f in features if f["properties"]["status"] == "valid"]
    assert all(p["colour"] in colours and 0 <= p["class"] < 6 for p in valid)
    assert all("," in p["value_label"] and p["value_label"].endswith(" %") for p in valid)
    missing = [f["properties"] for f in features if f["properties"]["status"] != "valid"]
    assert all(p["class"] is None and p["colour"] not in colours for p in missing)
    assert body["reference"]["city_label"] == "18,9 %"
    assert body["period"] == "2024-12-31" and body["level"]["name"] == "Planungsraum"


def test_choropleth_of_the_mss_class(client):
    body = client.get(f"/api/choropleth/{LOR}/plr/mss_class").json()
    assert body["legend"]["method"] == "fixed"
    labels = {f["properties"]["value_label"] for f in body["features"]}
    assert "Status mittel, Dynamik stabil" in labels and "keine Daten" in labels
    assert sum(1 for f in body["features"] if f["properties"]["status"] == "no_data") == 6


def test_facilities_by_category_bbox_and_region(client):
    kitas = client.get("/api/facilities", params={"category": "kita"}).json()
    assert kitas["numberReturned"] == 2880 and kitas["truncated"] is False
    first = kitas["features"][0]["properties"]
    assert first["label"] == "Kita" and first["capacity_unit"] == "Plätze"
    box = client.get("/api/facilities", params={"category": "kita", "bbox": "13.3,52.5,13.4,52.55"})
    assert 0 < box.json()["numberReturned"] < 2880
    for feature in box.json()["features"]:
        x, y = feature["geometry"]["coordinates"]
        assert 13.3 <= x <= 13.4 and 52.5 <= y <= 52.55
    region = client.get(
        "/api/facilities", params={"category": "kita", "system": LOR, "region": "101001"}
    ).json()
    assert region["numberReturned"] == 13
    cut = client.get("/api/facilities", params={"limit": 10}).json()
    assert len(cut["features"]) == 10 and cut["truncated"] is True
    categories = {c["key"]: c for c in client.get("/api/facility-categories").json()}
    assert categories["kita"]["facilities"] == 2880


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        (f"/api/systems/{LOR}/levels/xyz/regions", 404, "unknown region level"),
        ("/api/systems/hamburg/levels/plr/regions", 404, "unknown region level"),
        (f"/api/systems/{LOR}/regions/999", 404, "unknown region '999'"),
        ("/api/systems/hamburg/regions/01", 404, "unknown region system"),
        ("/api/indicators/nope", 404, "unknown indicator 'nope'"),
        (f"/api/values/{LOR}/plr/nope", 404, "unknown indicator"),
        (f"/api/values/{LOR}/plr/inhabitants?period=2019-01-01", 422, "no values for 2019-01-01"),
        (f"/api/values/{LOR}/plr/inhabitants?period=31.12.2024", 422, "period"),
        (f"/api/choropleth/{LOR}/plr/inhabitants?method=magic", 422, "unknown classification"),
        (f"/api/choropleth/{LOR}/plr/inhabitants?classes=12", 422, "classes"),
        (f"/api/choropleth/{LOR}/plr/inhabitants?method=manual", 422, "needs breaks"),
        (f"/api/choropleth/{LOR}/plr/inhabitants?method=manual&breaks=5,x", 422, "breaks must"),
        (f"/api/choropleth/{LOR}/plr/inhabitants?method=manual&breaks=9,5", 422, "rise strictly"),
        (f"/api/choropleth/{LOR}/plr/mss_class?method=quantiles", 422, "method=fixed"),
        (f"/api/choropleth/{LOR}/bzr/mss_class", 422, "cannot be aggregated"),
        ("/api/facilities?category=zoo", 404, "unknown facility category"),
        ("/api/facilities?bbox=13,52,12,53", 422, "west < east"),
        ("/api/facilities?bbox=a,b,c,d", 422, "four numbers"),
        ("/api/facilities?region=101001", 422, "needs system"),
        ("/api/facilities?limit=0", 422, "limit"),
        ("/api/facilities?limit=999999", 422, "over the cap"),
    ],
)
def test_user_errors_are_clear_json(client, url, status, message):
    response = client.get(url)
    assert response.status_code == status, response.text
    assert message in response.json()["detail"]


def test_pages_render_german(client):
    page = client.get("/", params={"level": "bzr", "indicator": "inhabitants"})
    assert page.status_code == 200 and 'lang="de"' in page.text
    assert "Bezirksregion" in page.text and "Legende" in page.text
    assert "cdn." not in page.text  # Leaflet comes from our own static files
    assert client.get("/static/vendor/leaflet/leaflet.js").status_code == 200
    missing = client.get("/?indicator=nope")
    assert missing.status_code == 404 and "Nicht gefunden" in missing.text
    assert client.get("/?lat=&lon=&zoom=&period=&breaks=").status_code == 200  # empty fields
    assert client.get("/?zoom=abc").status_code == 422
    assert client.get("/?lat=95&lon=13&zoom=11").status_code == 422
    bad = client.get("/?classes=20")
    assert bad.status_code == 422 and "classes" in bad.text
    region = client.get(f"/region/{LOR}/101001")
    assert region.status_code == 200 and "Marzahn Nord" in region.text and "<svg" in region.text
    assert client.get(f"/region/{LOR}/nope").status_code == 404


def test_openapi_documents_every_endpoint(client):
    paths = set(client.get("/openapi.json").json()["paths"])
    assert {
        "/api/systems/{system}/levels/{level}/regions",
        "/api/systems/{system}/regions/{code}",
        "/api/indicators",
        "/api/indicators/{key}",
        "/api/values/{system}/{level}/{indicator}",
        "/api/choropleth/{system}/{level}/{indicator}",
        "/api/facilities",
        "/api/facility-categories",
    } <= paths
