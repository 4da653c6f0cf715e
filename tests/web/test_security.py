"""Findings of the service review that are mended here: security headers on every answer,
nothing personal kept by caches, a NUL byte in a parameter is bad input (422, not 500), and
CSV cells a spreadsheet would run as a formula are written as text. On the generated town (no
data mirror needed)."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from people import MARZAHN_NORD, TOWN
from test_projects_api import project_body


@pytest.mark.parametrize(
    "path", ["/login", "/projects", "/api/systems", "/ogc", "/health", "/static/map.js"]
)
def test_every_answer_carries_the_security_headers(town_client, path):
    response = town_client.get(path)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


def test_answers_to_requests_with_credentials_are_not_cached(town_client):
    public = town_client.get("/api/systems")
    assert "no-store" not in public.headers.get("cache-control", "")
    personal = town_client.get("/api/systems", headers={"Authorization": "Bearer nobody"})
    assert personal.headers["cache-control"] == "no-store"
    assert "Authorization" in personal.headers["vary"]
    tile = f"/tiles/{TOWN}-bezirk/12/2205/1342.mvt"
    assert "no-store" not in town_client.get(tile).headers.get("cache-control", "")
    personal_tile = town_client.get(tile, headers={"Authorization": "Bearer x"})
    assert personal_tile.headers["cache-control"] == "no-store"  # not the public max-age


@pytest.mark.parametrize(
    "url",
    [
        "/api/systems/ber%00lin",
        "/api/projects?system=a%00b&region=1001",
        "/region/berlin-lor-2021/0110%000101",
    ],
)
def test_a_nul_byte_is_bad_input_not_a_server_error(town_client, url):
    response = town_client.get(url, headers={"Accept": "application/json"})
    assert response.status_code == 422, response.text
    if url.startswith("/api"):
        assert "invalid input" in response.json()["detail"]


def test_csv_cells_that_look_like_formulas_are_written_as_text(town_client, town_people):
    body = project_body(title='=HYPERLINK("http://example.org","klick")', public=True)
    body["geometry"] = MARZAHN_NORD
    response = town_client.post("/api/projects", json=body, headers=town_people["coord10"].headers)
    assert response.status_code == 201, response.text
    export = town_client.get("/api/exports/projects", params={"format": "csv"})
    assert export.status_code == 200
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        table = next(n for n in archive.namelist() if n.endswith(".csv"))
        text_ = archive.read(table).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text_), delimiter=";"))
    titles = [r["title"] for r in rows if "HYPERLINK" in r["title"]]
    assert titles == ['\'=HYPERLINK("http://example.org","klick")']
    # the one formula form written is Excel's text hint for a code: ="0123", a constant
    cells = [v or "" for r in rows for v in r.values()]
    assert not any(re.match(r"^[=+@]", v) and not re.fullmatch(r'="\d+"', v) for v in cells)


def test_pages_allow_only_their_own_scripts_and_those_with_the_requests_nonce(town_client):
    first, second = town_client.get("/projects"), town_client.get("/projects")
    policy = first.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert (
        "script-src 'self' 'nonce-" in policy
        and "'unsafe-inline'" not in policy.split("style-src")[0]
    )
    assert "object-src 'none'" in policy and "base-uri 'self'" in policy
    assert "https://tile.openstreetmap.org" in policy  # the base map's tiles
    inline = re.findall(r"<script([^>]*)>", first.text)
    assert inline and all(f'nonce="{nonce}"' in attrs for attrs in inline)
    assert not re.search(r"\son[a-z]+=", first.text)  # no inline event handlers
    assert nonce not in second.headers["content-security-policy"]  # a new one per request
    docs = town_client.get("/docs").headers["content-security-policy"]
    assert "cdn.jsdelivr.net" in docs and "frame-ancestors 'none'" in docs
