"""The web app against the loaded Berlin store: health, region systems, errors as JSON."""

from __future__ import annotations

from spatial.store import head_revision


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["schema_revision"] == head_revision()


def test_systems_list(client):
    response = client.get("/api/systems")
    assert response.status_code == 200
    systems = {s["key"]: s for s in response.json()}
    assert set(systems) == {"berlin-lor-2019", "berlin-lor-2021"}
    lor = systems["berlin-lor-2021"]
    assert lor["city"] == "Berlin" and lor["valid_from"] == "2021-01-01"
    assert [(lvl["key"], lvl["regions"]) for lvl in lor["levels"]] == [
        ("bezirk", 12),
        ("pgr", 58),
        ("bzr", 143),
        ("plr", 542),
    ]
    assert lor["levels"][3]["name"] == "Planungsraum"
    assert "Amt für Statistik" in lor["levels"][3]["attribution"]


def test_one_system_and_unknown_system(client):
    assert client.get("/api/systems/berlin-lor-2019").json()["levels"][1]["regions"] == 448
    missing = client.get("/api/systems/hamburg")
    assert missing.status_code == 404
    assert missing.json() == {"detail": "unknown region system 'hamburg'"}


def test_openapi_documents_the_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/health", "/api/systems", "/api/systems/{key}"} <= set(paths)
