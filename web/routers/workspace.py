"""The coordinators' pages: login and logout, the project list with filters, a project, the
drawing form (new and edit), a project's history, and the participation events.

Forms post JSON to the API from ``static/project.js`` with the session's CSRF token; the pages
themselves only read."""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.engine import Connection, Engine

from accounts.throttle import SignInThrottled, check_sign_in, clear_failures, record_failure
from accounts.tokens import close_session, open_session
from accounts.users import User, authenticate
from layers.regions import get_region_system, regions_of_level, system_extent, view_of
from records.errors import RecordNotFound
from records.events import list_events
from records.history import history_of, without_contacts
from records.projects import project_state
from records.queries import (
    ProjectFilter,
    events_of_project,
    list_projects,
    regions_of_project,
)
from records.vocabulary import (
    EVENT_GROUPS,
    EVENT_TYPES,
    PROJECT_STATUSES,
    PROJECT_TOPICS,
    STATUS_COLOURS,
)
from web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Visitor,
    current_visitor,
    signed_in_reader,
    signed_in_writer,
)
from web.deps import (
    cities_of,
    default_system,
    get_connection,
    get_engine,
    get_settings,
    map_defaults,
)
from web.pages.mapview import project_map, rendered
from web.routers.pages import templates
from web.settings import WebSettings

router = APIRouter(include_in_schema=False)
ACTIONS = {
    "create": "angelegt",
    "update": "geändert",
    "delete": "gelöscht",
    "restore": "wiederhergestellt",
    "contact_added": "Kontakt ergänzt",
    "consent_withdrawn": "Einwilligung widerrufen",
}
FIELD_LABELS = {
    "title": "Titel",
    "description": "Beschreibung",
    "status": "Status",
    "topic": "Thema",
    "funding_programme": "Förderprogramm",
    "organisation": "Verantwortliche Organisation",
    "start_date": "Beginn",
    "end_date": "Ende",
    "participation_text": "Mitmachen",
    "participation_url": "Link zum Mitmachen",
    "public": "Veröffentlicht",
    "geometry": "Geometrie",
    "districts": "Bezirke",
    "contacts": "Kontakte",
    "deleted": "Gelöscht",
}


def _safe_next(target: str | None) -> str:
    """Only paths of this site (no //host, no scheme) are followed after login."""
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/projects"


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request, next: str | None = None, settings: WebSettings = Depends(get_settings)
) -> Response:
    token = secrets.token_urlsafe(24)
    response = templates.TemplateResponse(
        request, "login.html", {"csrf": token, "next": _safe_next(next), "failed": False}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies
    )
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    username: str = Form(""),
    password: str = Form(""),
    csrf_token: str = Form(""),
    next: str = Form("/projects"),
    engine: Engine = Depends(get_engine),
    settings: WebSettings = Depends(get_settings),
) -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not expected or not secrets.compare_digest(expected, csrf_token):
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": 403, "message": "Das Formular ist abgelaufen; bitte neu laden."},
            status_code=403,
        )
    address = request.client.host if request.client else "unknown"
    limits = settings.sign_in_limits()
    form = {"csrf": expected, "next": _safe_next(next), "username": username}
    try:
        with engine.begin() as conn:
            check_sign_in(conn, username, address, limits)
            user = authenticate(conn, username, password)
            if user is None:
                record_failure(conn, username, address, limits)
            else:
                clear_failures(conn, username)
                secret, _ = open_session(conn, user, timedelta(hours=settings.session_hours))
    except SignInThrottled as exc:
        return templates.TemplateResponse(
            request,
            "login.html",
            {**form, "failed": True, "problem": str(exc)},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    if user is None:
        return templates.TemplateResponse(
            request, "login.html", {**form, "failed": True}, status_code=401
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    # no Max-Age: the browser keeps it for its session; the server ends it after
    # ``session_hours`` without activity (the expiry slides with each use)
    response.set_cookie(
        SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=settings.secure_cookies
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
def logout(
    request: Request, user: User = Depends(signed_in_writer), engine: Engine = Depends(get_engine)
) -> Response:
    with engine.begin() as conn:
        close_session(conn, request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


def _system_and_levels(conn: Connection, system: str | None, settings: WebSettings, cities):
    system = system or default_system(conn, settings, cities)
    info = get_region_system(conn, system)
    if info is None:
        raise RecordNotFound(f"unknown region system {system!r}")
    return system, info["levels"]


@router.get("/projects", response_class=HTMLResponse)
def projects_page(
    request: Request,
    system: str | None = None,
    level: str | None = None,
    region: str | None = None,
    status: str | None = None,
    topic: str | None = None,
    year: str | None = None,
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    visitor: Visitor = Depends(current_visitor),
) -> HTMLResponse:
    cities = cities_of(request)
    system, levels = _system_and_levels(conn, system, settings, cities)
    keys = [lv["key"] for lv in levels]
    first = map_defaults(settings, cities.of_system(system)).level
    level = level if level in keys else (first if first in keys else keys[-1])
    chosen_year = int(year) if year and year.isdigit() else None
    filters = ProjectFilter(
        system=system,
        region=region or None,
        status=status if status in PROJECT_STATUSES else None,
        topic=topic if topic in PROJECT_TOPICS else None,
        active_from=date(chosen_year, 1, 1) if chosen_year else None,
        active_to=date(chosen_year, 12, 31) if chosen_year else None,
        public_only=not visitor.signed_in,
    )
    context = {
        "projects": list_projects(conn, filters, settings.max_features),
        "levels": levels,
        "state": {
            "system": system,
            "level": level,
            "region": region or "",
            "status": status or "",
            "topic": topic or "",
            "year": year or "",
        },
        "regions": regions_of_level(conn, system, level),
        "statuses": PROJECT_STATUSES,
        "topics": PROJECT_TOPICS,
        "colours": STATUS_COLOURS,
    }
    return templates.TemplateResponse(request, "projects.html", context)


def _project_for(conn: Connection, project_id: int, visitor: Visitor) -> dict:
    state = project_state(conn, project_id)
    if not state["public"] and not visitor.signed_in:
        raise RecordNotFound(f"project {project_id} does not exist")
    return state


def _form_context(conn: Connection, state: dict | None, settings: WebSettings, cities) -> dict:
    view = view_of(system_extent(conn, default_system(conn, settings, cities)))
    m = project_map(
        state["geometry"] if state else None, settings.tile_url, settings.tile_attribution, view
    )
    return {
        "project": state,
        "statuses": PROJECT_STATUSES,
        "topics": PROJECT_TOPICS,
        "map": rendered(m),
        "labels": FIELD_LABELS,
    }


@router.get("/projects/new", response_class=HTMLResponse)
def project_new(
    request: Request,
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    user: User = Depends(signed_in_reader),  # anonymous visitors are sent to the login page
) -> Response:
    return templates.TemplateResponse(
        request, "project_form.html", _form_context(conn, None, settings, cities_of(request))
    )


@router.get("/projects/{project_id}/edit", response_class=HTMLResponse)
def project_edit(
    request: Request,
    project_id: int,
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    user: User = Depends(signed_in_reader),
) -> Response:
    state = without_contacts(project_state(conn, project_id))
    return templates.TemplateResponse(
        request, "project_form.html", _form_context(conn, state, settings, cities_of(request))
    )


@router.get("/projects/{project_id}", response_class=HTMLResponse)
def project_page(
    request: Request,
    project_id: int,
    hinweis: str | None = None,
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    visitor: Visitor = Depends(current_visitor),
) -> HTMLResponse:
    state = _project_for(conn, project_id, visitor)
    cities = cities_of(request)
    regions = regions_of_project(conn, project_id, default_system(conn, settings, cities))
    m = project_map(
        state["geometry"], settings.tile_url, settings.tile_attribution, None, edit=False
    )
    context = {
        "project": state,
        "regions": regions,
        "contacts": state["contacts"] if visitor.may_see_contacts(state["districts"]) else None,
        "may_edit": visitor.may_edit(state["districts"]),
        "colour": STATUS_COLOURS.get(state["status"]),
        "map": rendered(m),
        "notice": hinweis,
        "fields": FIELD_LABELS,
    }
    context["events"] = events_of_project(conn, project_id) if visitor.signed_in else []
    return templates.TemplateResponse(request, "project.html", context)


@router.get("/projects/{project_id}/history", response_class=HTMLResponse)
def project_history(
    request: Request,
    project_id: int,
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
    visitor: Visitor = Depends(current_visitor),
) -> HTMLResponse:
    state = project_state(conn, project_id, with_deleted=True)
    entries = history_of(conn, "project", project_id)
    context = {
        "project": state,
        "entries": list(reversed(entries)),
        "actions": ACTIONS,
        "labels": FIELD_LABELS,
        "may_edit": visitor.may_edit(state["districts"]),
    }
    return templates.TemplateResponse(request, "project_history.html", context)


@router.get("/events", response_class=HTMLResponse)
def events_page(
    request: Request,
    year: str | None = None,
    type: str | None = None,
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    user: User = Depends(signed_in_reader),
) -> HTMLResponse:
    system, levels = _system_and_levels(conn, None, settings, cities_of(request))
    chosen_year = int(year) if year and year.isdigit() else None
    context = {
        "events": list_events(
            conn,
            year=chosen_year,
            event_type=type if type in EVENT_TYPES else None,
            limit=settings.max_features,
        ),
        "state": {"year": year or "", "type": type or ""},
        "types": EVENT_TYPES,
        "groups": EVENT_GROUPS,
        "topics": PROJECT_TOPICS,
        "system": system,
        "region_levels": [
            (lv, regions_of_level(conn, system, lv["key"])) for lv in levels if lv["rank"] > 0
        ],
        "may_write": user.role in ("coordinator", "admin"),
    }
    return templates.TemplateResponse(request, "events.html", context)
