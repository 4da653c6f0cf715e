"""Access control over every write endpoint: anonymous, viewer, coordinator of another Bezirk,
coordinator of the right Bezirk and admin — allowed or refused as specified, and a refused
write changes nothing. On the generated town (no data mirror needed)."""

from __future__ import annotations

import itertools

import pytest
from people import TOWN, project_body
from sqlalchemy import text

from records.contacts import ContactInput, add_contact
from records.events import EventInput, save_event
from records.projects import ProjectInput, ProjectUpdate, create_project, update_project
from records.settings import RecordSettings

LIMITS = RecordSettings()
_names = itertools.count()
EVENT = {
    "type": "Runder Tisch",
    "title": "Runder Tisch Kinderschutz",
    "held_on": "2030-05-06",
    "participants": 12,
    "system": TOWN,
    "regions": ["1001"],
}


def _project(engine, admin, *, versions: int = 1, contact: bool = False) -> dict:
    """A project in Marzahn Nord (Bezirk 10), made by the admin."""
    with engine.begin() as conn:
        state, _ = create_project(conn, ProjectInput(**project_body()), admin, 25833, LIMITS)
        for version in range(1, versions):
            state, _ = update_project(
                conn,
                state["id"],
                ProjectUpdate(**project_body(title=f"Fassung {version + 1}"), version=version),
                admin,
                25833,
                LIMITS,
            )
        if contact:
            state["contact"] = add_contact(
                conn,
                state["id"],
                ContactInput(
                    name="Max Kontakt", consent_date="2025-01-02", consent_purpose="Einladungen"
                ),
                admin,
            )["id"]
    return state


def _event(engine, admin) -> dict:
    with engine.begin() as conn:
        return save_event(conn, EventInput(**EVENT), admin, 25833, LIMITS)


def _user(engine) -> str:
    from accounts.users import add_user

    name = f"wegwerf-{next(_names)}"
    with engine.begin() as conn:
        add_user(conn, name, "ein-gutes-passwort", "viewer")
    return name


# each endpoint: how to make a fresh target, and the request against it
ENDPOINTS = {
    "create project": lambda e, a: ("POST", "/api/projects", project_body()),
    "update project": lambda e, a: (
        "PUT",
        f"/api/projects/{_project(e, a)['id']}",
        {**project_body(title="Neu"), "version": 1},
    ),
    "delete project": lambda e, a: (
        "DELETE",
        f"/api/projects/{_project(e, a)['id']}?version=1",
        None,
    ),
    "restore version": lambda e, a: (
        "POST",
        f"/api/projects/{_project(e, a, versions=2)['id']}/restore",
        {"restore_version": 1, "version": 2},
    ),
    "add contact": lambda e, a: (
        "POST",
        f"/api/projects/{_project(e, a)['id']}/contacts",
        {"name": "Neue Person", "consent_date": "2025-02-03", "consent_purpose": "Rückfragen"},
    ),
    "withdraw consent": lambda e, a: (
        "POST",
        f"/api/contacts/{_project(e, a, contact=True)['contact']}/withdraw",
        None,
    ),
    "create event": lambda e, a: ("POST", "/api/events", EVENT),
    "update event": lambda e, a: (
        "PUT",
        f"/api/events/{_event(e, a)['id']}",
        {**EVENT, "title": "Neu", "version": 1},
    ),
    "delete event": lambda e, a: ("DELETE", f"/api/events/{_event(e, a)['id']}?version=1", None),
    "add user": lambda e, a: (
        "POST",
        "/api/users",
        {"username": f"neu-{next(_names)}", "password": "ein-gutes-passwort", "role": "viewer"},
    ),
    "disable user": lambda e, a: ("POST", f"/api/users/{_user(e)}/disable", None),
}
RECORD_WRITES = [k for k in ENDPOINTS if "user" not in k]
# who may: records in Bezirk 10 → its coordinator and admins; users → admins only
EXPECTED = {
    "anonymous": dict.fromkeys(ENDPOINTS, 401),
    "viewer": dict.fromkeys(ENDPOINTS, 403),
    "coord04": dict.fromkeys(ENDPOINTS, 403),
    "coord10": {k: ("ok" if k in RECORD_WRITES else 403) for k in ENDPOINTS},
    "admin": dict.fromkeys(ENDPOINTS, "ok"),
}


def _state(engine) -> tuple:
    with engine.connect() as conn:
        return tuple(
            conn.execute(text(sql)).scalar_one()
            for sql in (
                "SELECT count(*) FROM history",
                "SELECT count(*) FROM users WHERE active",
                "SELECT coalesce(sum(version), 0) FROM projects",
                "SELECT coalesce(sum(version), 0) FROM events",
                "SELECT count(*) FROM contacts WHERE withdrawn_at IS NULL",
            )
        )


@pytest.mark.parametrize("who", list(EXPECTED))
@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_role_matrix(town_client, town_engine, town_people, who, endpoint):
    method, url, body = ENDPOINTS[endpoint](town_engine, town_people["admin"].user)
    headers = town_people[who].headers if who in town_people else {}
    before = _state(town_engine)
    response = town_client.request(method, url, json=body, headers=headers)
    expected = EXPECTED[who][endpoint]
    if expected == "ok":
        assert response.status_code in (200, 201), response.text
    else:
        assert response.status_code == expected, response.text
        assert response.json()["detail"]
        assert _state(town_engine) == before  # nothing was written
        if expected == 401:
            assert response.headers["www-authenticate"] == "Bearer"
