"""Projects over HTTP: login with session cookie and CSRF, clear 422s with nothing written,
the 409 body, escaping, what anonymous visitors see, and contacts in no output after consent
is withdrawn. On the generated town (no data mirror needed)."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from people import PASSWORD, TOWN, project_body, square
from sqlalchemy import text


def _count(engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def _login(app, username: str) -> tuple[TestClient, str]:
    browser = TestClient(app)
    form = browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    done = browser.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    page = browser.get("/projects")
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    return browser, csrf


def test_session_writes_need_the_csrf_token(town_client, town_engine, town_people):
    browser, csrf = _login(town_client.app, town_people["coord10"].user.username)
    before = _count(town_engine, "projects")
    refused = browser.post("/api/projects", json=project_body())
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    wrong = browser.post("/api/projects", json=project_body(), headers={"X-CSRF-Token": "x"})
    assert wrong.status_code == 403
    assert _count(town_engine, "projects") == before
    made = browser.post("/api/projects", json=project_body(), headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201
    assert browser.get("/api/me").json()["role"] == "coordinator"
    # logging out needs the token too, and ends the session
    assert browser.post("/logout", follow_redirects=False).status_code == 403
    out = browser.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert browser.get("/api/me").status_code == 401


def test_login_refusals(town_client, town_people):
    browser = TestClient(town_client.app)
    form = browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    name = town_people["viewer"].user.username
    bad = browser.post(
        "/login", data={"username": name, "password": "falsch-falsch", "csrf_token": token}
    )
    assert bad.status_code == 401 and "Passwort ist falsch" in bad.text
    forged = TestClient(town_client.app).post(
        "/login", data={"username": name, "password": PASSWORD, "csrf_token": token}
    )
    assert forged.status_code == 403  # no login cookie: a cross-site form post
    unknown = town_client.get("/api/me", headers={"Authorization": "Bearer szt_nope"})
    assert unknown.status_code == 401


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"status": "fertig"}, "unknown status"),
        ({"topic": "Raumfahrt"}, "unknown topic"),
        ({"start_date": "2026-05-01", "end_date": "2026-04-30"}, "before the start date"),
        ({"geometry": {"type": "Point", "coordinates": [52.566, 13.565]}}, "latitude, longitude"),
        ({"geometry": {"type": "Point", "coordinates": [402034, 5823750]}}, "projected metres"),
        ({"geometry": {"type": "Point", "coordinates": [9.99, 53.55]}}, "outside the city"),
        ({"geometry": {"type": "LineString", "coordinates": []}}, "empty"),
    ],
)
def test_bad_input_is_a_clear_422(town_client, town_engine, town_people, overrides, fragment):
    before = _count(town_engine, "projects")
    response = town_client.post(
        "/api/projects", json=project_body(**overrides), headers=town_people["admin"].headers
    )
    assert response.status_code == 422
    assert fragment in response.json()["detail"]
    assert _count(town_engine, "projects") == before


def test_oversized_payload_is_refused(town_client, town_engine, town_people):
    limit = town_client.app.state.record_settings.max_payload_kb * 1024
    body = json.dumps(project_body(description="x" * (limit + 10)))
    before = _count(town_engine, "projects")
    response = town_client.post(
        "/api/projects",
        content=body,
        headers={**town_people["admin"].headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422 and "exceeds the limit" in response.json()["detail"]
    assert _count(town_engine, "projects") == before


def test_conflict_is_a_409_that_shows_the_changes(town_client, town_people):
    headers = town_people["coord10"].headers
    made = town_client.post("/api/projects", json=project_body(), headers=headers).json()
    pid = made["project"]["id"]
    first = town_client.put(
        f"/api/projects/{pid}", json={**project_body(title="A"), "version": 1}, headers=headers
    )
    assert first.status_code == 200 and first.json()["project"]["version"] == 2
    second = town_client.put(
        f"/api/projects/{pid}", json={**project_body(title="B"), "version": 1}, headers=headers
    )
    assert second.status_code == 409
    body = second.json()
    assert "nothing was saved" in body["detail"]
    assert body["changes"]["title"] == {"before": "Nachbarschaftsgarten", "now": "A"}
    assert body["current"]["version"] == 2 and "contacts" not in body["current"]
    history = town_client.get(f"/api/projects/{pid}/history", headers=headers).json()
    assert [(h["version"], h["action"]) for h in history] == [(1, "create"), (2, "update")]


def test_script_titles_are_shown_as_text(town_client, town_people):
    title = '<script>alert("x")</script> Spielplatz'
    made = town_client.post(
        "/api/projects", json=project_body(title=title), headers=town_people["coord10"].headers
    ).json()
    assert made["project"]["title"] == title  # stored as entered
    for url in (
        f"/projects/{made['project']['id']}",
        "/projects",
        f"/region/{TOWN}/1001",
    ):
        page = town_client.get(url)
        assert page.status_code == 200
        assert '<script>alert("x")' not in page.text
        assert "&lt;script&gt;alert(" in page.text


def test_anonymous_visitors_see_public_projects_only(town_client, town_people):
    headers = town_people["coord10"].headers
    hidden = town_client.post(
        "/api/projects", json=project_body(title="Intern", public=False), headers=headers
    ).json()["project"]["id"]
    public = town_client.post(
        "/api/projects", json=project_body(title="Offen"), headers=headers
    ).json()["project"]["id"]
    anonymous = {f["id"] for f in town_client.get("/api/projects").json()["features"]}
    signed_in = {
        f["id"] for f in town_client.get("/api/projects", headers=headers).json()["features"]
    }
    assert public in anonymous and hidden not in anonymous
    assert {public, hidden} <= signed_in
    assert town_client.get(f"/api/projects/{hidden}").status_code == 404
    assert town_client.get(f"/projects/{hidden}").status_code == 404
    in_region = town_client.get("/api/projects", params={"system": TOWN, "region": "1001"}).json()
    assert public in {f["id"] for f in in_region["features"]}
    elsewhere = town_client.get("/api/projects", params={"system": TOWN, "region": "0401"}).json()
    assert public not in {f["id"] for f in elsewhere["features"]}
    assert town_client.get("/api/projects", params={"status": "x"}).status_code == 422


def test_contacts_never_leave_with_public_data_and_vanish_on_withdrawal(town_client, town_people):
    coordinator = town_people["coord10"].headers
    pid = town_client.post(
        "/api/projects", json=project_body(title="Mit Kontakt"), headers=coordinator
    ).json()["project"]["id"]
    contact = town_client.post(
        f"/api/projects/{pid}/contacts",
        json={
            "name": "Hanna Beispiel",
            "email": "hanna@example.org",
            "phone": "0301111",
            "consent_date": "2025-05-05",
            "consent_purpose": "Projektkoordination",
        },
        headers=coordinator,
    ).json()
    outputs = {
        "list anonymous": lambda: town_client.get("/api/projects").text,
        "list viewer": lambda: (
            town_client.get("/api/projects", headers=town_people["viewer"].headers).text
        ),
        "project anonymous": lambda: town_client.get(f"/api/projects/{pid}").text,
        "project viewer": lambda: (
            town_client.get(f"/api/projects/{pid}", headers=town_people["viewer"].headers).text
        ),
        "page anonymous": lambda: town_client.get(f"/projects/{pid}").text,
        "history viewer": lambda: (
            town_client.get(
                f"/api/projects/{pid}/history", headers=town_people["viewer"].headers
            ).text
        ),
    }
    for name, read in outputs.items():
        assert "hanna@example.org" not in read(), name
    # the district's coordinator sees the contact until consent is withdrawn
    assert "hanna@example.org" in town_client.get(f"/api/projects/{pid}", headers=coordinator).text
    withdrawn = town_client.post(f"/api/contacts/{contact['id']}/withdraw", headers=coordinator)
    assert withdrawn.status_code == 200
    for read in [
        *outputs.values(),
        lambda: town_client.get(f"/api/projects/{pid}", headers=coordinator).text,
        lambda: town_client.get(f"/api/projects/{pid}/history", headers=coordinator).text,
        lambda: town_client.get("/api/projects", headers=coordinator).text,
    ]:
        text_out = read()
        assert "Hanna" not in text_out and "hanna@example.org" not in text_out


def test_geometry_upload_as_feature_collection_in_25833(town_client, town_people):
    upload = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": {"type": "Point", "coordinates": [402034.0, 5823750.0]},
            }
        ],
    }
    response = town_client.post(
        "/api/projects",
        json=project_body(geometry=upload, crs="EPSG:25833"),
        headers=town_people["coord10"].headers,
    )
    assert response.status_code == 201
    mixed = town_client.post(
        "/api/projects",
        json=project_body(
            geometry={
                "type": "GeometryCollection",
                "geometries": [
                    {"type": "Point", "coordinates": [13.555, 52.555]},
                    square(13.56, 52.56),
                ],
            }
        ),
        headers=town_people["coord10"].headers,
    )
    assert mixed.status_code == 201, mixed.text
    assert mixed.json()["project"]["geometry"]["type"] == "GeometryCollection"


def test_a_chunked_body_over_the_limit_gets_the_same_clear_refusal(
    town_client, town_engine, town_people
):
    limit = town_client.app.state.record_settings.max_payload_kb * 1024
    body = json.dumps(project_body(description="x" * (limit + 10))).encode()

    def chunks():  # no Content-Length: the body streams in pieces
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    before = _count(town_engine, "projects")
    response = town_client.post(
        "/api/projects", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert "exceeds the limit" in response.json()["detail"]
    assert _count(town_engine, "projects") == before
    small = json.dumps(project_body()).encode()  # a chunked body within the limit goes through
    accepted = town_client.post(
        "/api/projects",
        content=iter([small[:10], small[10:]]),
        headers={"Content-Type": "application/json", **town_people["admin"].headers},
    )
    assert accepted.status_code == 201, accepted.text
