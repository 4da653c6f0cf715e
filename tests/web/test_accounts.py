"""Sign-in and sessions that hold, on a generated town (no data mirror needed): failed sign-ins
throttled per account and per address (refused before the password is checked, with a German
message and ``Retry-After``), sessions that end after inactivity rather than at a fixed time,
API tokens with expiry, listing and single revocation (all revoked by a password change), the
login form's cookie ``Secure`` behind TLS, and history in the deployment's time zone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from geodata import X0, Y0, load_town
from pyproj import Transformer
from sqlalchemy import text

from accounts.tokens import create_token, list_tokens, revoke_token, token_user
from accounts.users import add_user, set_password
from spatial.settings import DEPLOYMENT, StoreSettings
from web.app import create_app
from web.auth import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from web.settings import Settings, WebSettings

PASSWORD = "ein-gutes-passwort"


@pytest.fixture
def town(engine, tmp_path, data_settings):
    """The town store with an admin ('verwaltung') and a viewer ('leser')."""
    load_town(engine, tmp_path, data_settings, 25833)
    with engine.begin() as conn:
        add_user(conn, "verwaltung", PASSWORD, "admin")
        add_user(conn, "leser", PASSWORD, "viewer")
    return engine


def _app(db_url: str, **web) -> Iterator[TestClient]:
    settings = WebSettings(refresh_store=False, **web)
    app = create_app(Settings(web=settings, store=StoreSettings(database_url=db_url)))
    with TestClient(app) as client:
        yield client


@pytest.fixture
def client(town, db_url) -> Iterator[TestClient]:
    yield from _app(db_url, login_attempts=3, login_address_attempts=5, session_hours=1)


def _sign_in(client: TestClient, username: str, password: str = PASSWORD):
    client.cookies.clear()
    form = client.get("/login")
    csrf = form.cookies[LOGIN_CSRF_COOKIE]
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )


def _failures(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM sign_in_failures")).scalar_one()


def test_failed_sign_ins_are_throttled_per_account_before_the_password_is_checked(client, town):
    for _ in range(3):
        assert _sign_in(client, "leser", "falsches-passwort").status_code == 401
    refused = _sign_in(client, "leser")  # the right password, but too late
    assert refused.status_code == 429
    assert "Zu viele fehlgeschlagene Anmeldungen" in refused.text
    assert "15 Minuten" in refused.text
    assert 0 < int(refused.headers["retry-after"]) <= 15 * 60
    assert SESSION_COOKIE not in refused.cookies
    assert _failures(town) == 3  # refused tries are not counted (the table stays bounded)
    # another account from the same address still signs in
    assert _sign_in(client, "verwaltung").status_code == 303
    # once the failures have left the window, the account signs in and starts afresh
    with town.begin() as conn:
        conn.execute(text("UPDATE sign_in_failures SET at = at - interval '16 minutes'"))
    assert _sign_in(client, "leser").status_code == 303
    with town.connect() as conn:
        left = conn.execute(
            text("SELECT count(*) FROM sign_in_failures WHERE username = 'leser'")
        ).scalar_one()
    assert left == 0


def test_failed_sign_ins_are_throttled_per_address_across_accounts(client):
    for name in ("a1", "a2", "a3", "a4", "a5"):  # names that do not exist count too
        assert _sign_in(client, name, "falsches-passwort").status_code == 401
    refused = _sign_in(client, "verwaltung")
    assert refused.status_code == 429
    assert "erneut versuchen" in refused.text


def test_a_session_ends_after_inactivity_and_slides_with_use(client, town):
    answer = _sign_in(client, "leser")
    assert answer.status_code == 303
    (cookie,) = [c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)]
    assert "max-age" not in cookie.lower()  # ends on the server, after inactivity
    assert client.get("/api/me").json()["username"] == "leser"
    with town.begin() as conn:  # as if the last use were 58 minutes ago
        conn.execute(text("UPDATE user_sessions SET expires_at = now() + interval '2 minutes'"))
    assert client.get("/api/me").status_code == 200
    with town.connect() as conn:
        left = conn.execute(
            text("SELECT expires_at - now() FROM user_sessions ORDER BY expires_at DESC LIMIT 1")
        ).scalar_one()
    assert left > timedelta(minutes=55)  # the use moved the end an hour on
    with town.begin() as conn:
        conn.execute(text("UPDATE user_sessions SET expires_at = now() - interval '1 second'"))
    assert client.get("/api/me").status_code == 401


def test_the_login_form_cookie_is_secure_behind_tls(town, db_url):
    for client in _app(db_url, secure_cookies=True):
        cookie = client.get("/login").headers["set-cookie"]
        assert cookie.startswith(LOGIN_CSRF_COOKIE) and "secure" in cookie.lower()
    for client in _app(db_url):
        assert "secure" not in client.get("/login").headers["set-cookie"].lower()


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_tokens_expire_are_listed_and_revoked_one_by_one(client, town):
    with town.begin() as conn:
        first = create_token(conn, "leser", "qgis", days=30)
        second = create_token(conn, "leser", "skript", days=1)
    assert client.get("/api/me", headers=_bearer(first)).status_code == 200
    listed = client.get("/api/me/tokens", headers=_bearer(first)).json()
    assert [t["name"] for t in listed] == ["skript", "qgis"]
    assert {t["state"] for t in listed} == {"active"}
    assert listed[1]["last_used_at"] is not None and listed[0]["last_used_at"] is None
    assert all("token" not in t and "token_hash" not in t for t in listed)

    revoked = client.delete(f"/api/users/leser/tokens/{listed[0]['id']}", headers=_bearer(first))
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    refused = client.get("/api/me", headers=_bearer(second))
    assert refused.status_code == 401 and "revoked" in refused.json()["detail"]
    assert client.get("/api/me", headers=_bearer(first)).status_code == 200  # the other stays

    with town.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second'"))
    assert client.get("/api/me", headers=_bearer(first)).status_code == 401
    with town.connect() as conn:
        assert {t["state"] for t in list_tokens(conn, "leser")} == {"expired", "revoked"}


def test_a_token_made_through_the_api_and_the_limits_of_its_life(client, town):
    with town.begin() as conn:
        admin = create_token(conn, "verwaltung", "admin")
    made = client.post("/api/me/tokens", json={"name": "export", "days": 7}, headers=_bearer(admin))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["token"].startswith("szt_") and body["name"] == "export"
    expires = datetime.fromisoformat(body["expires_at"]) - datetime.now(UTC)
    assert timedelta(days=6, hours=23) < expires <= timedelta(days=7)
    too_long = client.post(
        "/api/me/tokens", json={"name": "ewig", "days": 5000}, headers=_bearer(admin)
    )
    assert too_long.status_code == 422
    # admins see and revoke anyone's tokens; a viewer only their own
    with town.begin() as conn:
        viewer = create_token(conn, "leser", "qgis")
    assert client.get("/api/users/leser/tokens", headers=_bearer(admin)).status_code == 200
    assert client.get("/api/users/verwaltung/tokens", headers=_bearer(viewer)).status_code == 403
    with town.begin() as conn, pytest.raises(Exception, match="has no token"):
        revoke_token(conn, "leser", 999_999)


def test_a_password_change_revokes_every_token(town):
    with town.begin() as conn:
        token = create_token(conn, "leser", "qgis")
        assert token_user(conn, token) is not None
        set_password(conn, "leser", "ein-ganz-neues-passwort")
        assert token_user(conn, token) is None
        assert {t["state"] for t in list_tokens(conn, "leser")} == {"revoked"}


def test_history_is_shown_in_the_deployments_time_zone(client, town):
    to_wgs = Transformer.from_crs(25833, 4326, always_xy=True)
    lon, lat = to_wgs.transform(X0 + 1500, Y0 + 500)
    d = 0.002
    ring = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    body = {
        "title": "Spielplatz",
        "status": "Idee",
        "topic": "Kinder und Jugend",
        "public": True,
        "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
    }
    with town.begin() as conn:
        admin = create_token(conn, "verwaltung", "admin")
    made = client.post("/api/projects", json=body, headers=_bearer(admin))
    assert made.status_code == 201, made.text
    with town.connect() as conn:
        at = conn.execute(text("SELECT max(at) FROM history")).scalar_one()
    project = made.json()["project"]["id"]
    page = client.get(f"/projects/{project}/history", headers=_bearer(admin))
    assert page.status_code == 200, page.text
    local = at.astimezone(ZoneInfo(DEPLOYMENT.timezone)).strftime("%d.%m.%Y %H:%M")
    assert local in page.text
    if at.astimezone(ZoneInfo(DEPLOYMENT.timezone)).utcoffset() != at.astimezone().utcoffset():
        assert at.astimezone().strftime("%d.%m.%Y %H:%M") not in page.text
    assert re.search(r"\d\d\.\d\d\.\d{4} \d\d:\d\d", page.text)
