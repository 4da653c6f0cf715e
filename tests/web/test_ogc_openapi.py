"""The OpenAPI 3.0 definition of the OGC API (valid, typed parameters per collection, the
``limit`` default and maximum), the feature schema behind ``describedby``, and the year 0000
that QGIS sends as the open start of a ``datetime`` interval."""

from __future__ import annotations

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.mirror


@pytest.fixture(scope="module")
def api(client) -> dict:
    landing = client.get("/ogc").json()
    desc = next(link for link in landing["links"] if link["rel"] == "service-desc")
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    response = client.get(desc["href"].removeprefix("http://testserver"))
    assert response.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    return response.json()


def test_the_definition_is_valid_openapi_30(api):
    """It was FastAPI's 3.1 document while OAS30 was claimed."""
    assert api["openapi"].startswith("3.0")
    validate(api)  # raises on any schema violation
    assert api["servers"][0]["url"].endswith("/ogc")


def test_limit_declares_its_default_and_maximum(api, web_settings):
    limit = api["components"]["parameters"]["limit"]["schema"]
    assert limit["default"] == web_settings.ogc_page_size
    assert limit["maximum"] == web_settings.ogc_max_page and limit["minimum"] == 1


def test_each_collection_has_typed_parameters_for_its_properties(api):
    items = api["paths"]["/collections/facilities-kita/items"]["get"]["parameters"]
    own = {p["name"]: p for p in items if "$ref" not in p}
    assert own["capacity"]["schema"]["type"] == "integer"
    assert own["name"]["schema"]["type"] == "string"
    assert own["valid_on"]["schema"] == {"type": "string", "format": "date"}
    for parameter in own.values():
        assert parameter["in"] == "query" and parameter["style"] == "form"
        assert parameter["explode"] is False
    refs = {p["$ref"].rsplit("/", 1)[1] for p in items if "$ref" in p}
    assert {"limit", "bbox", "filter", "sortby", "properties", "crs"} <= refs
    regions = api["paths"]["/collections/berlin-lor-2021-bzr/items"]["get"]["parameters"]
    assert any(p.get("name") == "inhabitants" and p["schema"]["type"] == "number" for p in regions)
    assert "/collections/projects/items/{featureId}" in api["paths"]


def test_the_definition_refuses_unknown_parameters(client):
    response = client.get("/ogc/api", params={"verbose": "1"})
    assert response.status_code == 400 and "'verbose'" in response.json()["detail"]


def test_describedby_is_a_feature_schema_with_the_types(client):
    collection = client.get("/ogc/collections/projects").json()
    rels = {link["rel"]: link["href"] for link in collection["links"]}
    assert rels["describedby"] == rels["describedBy"]
    schema = client.get(rels["describedby"].removeprefix("http://testserver"))
    assert schema.headers["content-type"] == "application/schema+json"
    doc = schema.json()
    assert doc["properties"]["type"]["enum"] == ["Feature"]
    fields = doc["properties"]["properties"]["properties"]
    # the projects collection is empty here: the schema still names every field
    assert fields["start_date"] == {"title": fields["start_date"]["title"], "type": "string",
                                    "format": "date"}  # fmt: skip
    assert doc["properties"]["id"]["type"] == "integer"


def test_a_datetime_from_year_0000_is_an_open_start(client):
    """QGIS 3.22 sends "valid_on <= 2022-12-31" as datetime=0000-01-01T00:00:00Z/2022-12-31,
    which was refused with 400 (Python has no year 0)."""
    url = "/ogc/collections/facilities-kita/items"
    early = client.get(url, params={"datetime": "0000-01-01T00:00:00Z/2022-12-31", "limit": 1})
    assert early.status_code == 200, early.text
    everything = client.get(url, params={"limit": 1}).json()["numberMatched"]
    open_start = client.get(url, params={"datetime": "../2022-12-31", "limit": 5000})
    assert len(open_start.json()["features"]) == everything
    bad = client.get(url, params={"datetime": "0000-13-01/.."})
    assert bad.status_code == 400 and "RFC 3339" in bad.json()["detail"]


def test_the_definition_is_built_once_per_data_version(client):
    """It was built anew from the collections on every request."""
    cache = client.app.state.cache
    first = client.get("/ogc/api")
    hits = cache.hits
    second = client.get("/ogc/api")
    # one hit for the whole document, not one per collection's source
    assert cache.hits - hits == 1
    assert second.content == first.content
    assert second.headers["content-type"].startswith("application/vnd.oai.openapi+json")
