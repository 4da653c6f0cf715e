"""Findings of the service review that are mended here: security headers on every answer,
nothing personal kept by caches, a NUL byte in a parameter is bad input (422, not 500), and
CSV cells a spreadsheet would run as a formula are written as text."""

from __future__ import annotations

import csv
import io
import re

import pytest
from people import MARZAHN_NORD
from test_projects_api import project_body

pytestmark = pytest.mark.mirror


@pytest.mark.parametrize("path", ["/", "/api/systems", "/ogc", "/health", "/static/map.js"])
def test_every_answer_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_answers_to_requests_with_credentials_are_not_cached(client):
    public = client.get("/api/systems")
    assert "no-store" not in public.headers.get("cache-control", "")
    personal = client.get("/api/systems", headers={"Authorization": "Bearer nobody"})
    assert personal.headers["cache-control"] == "no-store"
    assert "Authorization" in personal.headers["vary"]
    tile = client.get(
        "/tiles/berlin-lor-2021-bzr/12/2205/1342.mvt", headers={"Authorization": "Bearer x"}
    )
    assert tile.headers["cache-control"] == "no-store"  # not the public max-age


@pytest.mark.parametrize(
    "url",
    [
        "/api/systems/ber%00lin",
        "/api/indicators/inhabitants?system=a%00b",
        "/region/berlin-lor-2021/0110%000101",
    ],
)
def test_a_nul_byte_is_bad_input_not_a_server_error(client, url):
    response = client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 422, response.text
    if url.startswith("/api"):
        assert "invalid input" in response.json()["detail"]


def test_csv_cells_that_look_like_formulas_are_written_as_text(records_client, people, tmp_path):
    body = project_body(title='=HYPERLINK("http://example.org","klick")', public=True)
    body["geometry"] = MARZAHN_NORD
    response = records_client.post("/api/projects", json=body, headers=people["coord10"].headers)
    assert response.status_code == 201, response.text
    export = records_client.get("/api/exports/projects", params={"format": "csv"})
    assert export.status_code == 200
    rows = list(csv.DictReader(io.StringIO(export.text)))
    titles = [r["title"] for r in rows if "HYPERLINK" in r["title"]]
    assert titles == ['\'=HYPERLINK("http://example.org","klick")']
    assert not any(re.match(r"^[=+@]", v or "") for r in rows for v in r.values())
