"""The region profile as a German page (``/profile/{system}/{code}``) and as PDF
(``….pdf``, the same document rendered once, ``web.pdfs``), built from live data on every
request; the forms that write its sections, their
history and restore. Anonymous visitors get the public version (public sections and projects,
participation as yearly counts)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.regions import find_region
from profiles.content import Profile, build_profile
from profiles.document import Editing, file_name, render_body, render_document
from profiles.settings import ProfileSettings
from records.errors import InvalidRecord
from records.history import history_of
from records.sections import (
    SectionInput,
    district_of,
    restore_section,
    save_section,
    section_id_of,
    section_state,
)
from spatial.cities import Cities
from spatial.features import Attribution
from web.auth import Visitor, Writer, current_visitor, record_writer, signed_in_reader
from web.deps import (
    get_cache,
    get_cities,
    get_connection,
    get_profile_settings,
    get_records,
    request_connection,
    standard_sections,
)
from web.routers.pages import templates

router = APIRouter(include_in_schema=False)
ACTIONS = {
    "create": "angelegt",
    "update": "geändert",
    "delete": "gelöscht",
    "restore": "wiederhergestellt",
}


ProfileBuilder = Callable[[Connection], Profile]


def profile_builder(
    system: str,
    code: str,
    level: str | None = None,
    cache: LayerCache = Depends(get_cache),
    visitor: Visitor = Depends(current_visitor),
    settings: ProfileSettings = Depends(get_profile_settings),
    credit: Attribution = Depends(get_records),
    cities: Cities = Depends(get_cities),
) -> ProfileBuilder:
    """Dependency: how to build the profile named by the path on a connection, in the
    visitor's version (signed-in readers get the internal one), after the template of the
    system's city."""
    template = settings.template(cities.of_system(system))

    def build(conn: Connection) -> Profile:
        return build_profile(
            conn,
            cache,
            system,
            code,
            level=level,
            internal=visitor.signed_in,
            settings=settings,
            template=template,
            credit=credit,
        )

    return build


def requested_profile(
    build: ProfileBuilder = Depends(profile_builder),
    conn: Connection = Depends(get_connection),
) -> Profile:
    """Dependency: the profile named by the path, on the request's connection."""
    return build(conn)


def _query(level: str | None) -> str:
    return f"?level={quote(level)}" if level else ""


def _base_url(system: str, code: str) -> str:
    return f"/profile/{quote(system)}/{quote(code)}"


@router.get("/profile/{system}/{code}.pdf")
def profile_pdf(request: Request, build: ProfileBuilder = Depends(profile_builder)) -> Response:
    # the connection is given back before the layout, which takes seconds without it
    with request_connection(request) as conn:
        profile = build(conn)
        document = render_document(profile)
    return Response(
        request.app.state.pdfs.pdf(document),
        media_type="application/pdf",
        headers={
            "Content-Disposition": f'inline; filename="{file_name(profile)}"',
            "Cache-Control": "private, no-store",
        },
    )


@router.get("/profile/{system}/{code}", response_class=HTMLResponse)
def profile_page(
    request: Request,
    system: str,
    code: str,
    level: str | None = None,
    profile: Profile = Depends(requested_profile),
    conn: Connection = Depends(get_connection),
    visitor: Visitor = Depends(current_visitor),
) -> HTMLResponse:
    editing = Editing(
        base_url=_base_url(system, code),
        csrf_token=visitor.csrf_token,
        may_edit=visitor.may_edit(district_of(conn, profile.region.id)),
        signed_in=visitor.signed_in,
        query=_query(level),
    )
    context = {
        "profile": profile,
        "body": render_body(profile, editing),
        "pdf_url": f"{_base_url(system, code)}.pdf{_query(level)}",
        "system_key": system,
    }
    return templates.TemplateResponse(request, "profile.html", context)


def _section_input(form, version: int | None = None) -> SectionInput:
    """A plain HTML form's fields as section input (unticked checkboxes are not sent)."""
    try:
        return SectionInput(
            title=form.get("title") or "",
            body=(form.get("body") or "").replace("\r\n", "\n"),
            public=form.get("public") == "1",
            version=version if version is not None else int(form.get("version") or 0),
        )
    except (ValidationError, ValueError) as exc:
        raise InvalidRecord(f"the section cannot be saved: {exc}") from None


@router.post("/profile/{system}/{code}/sections", response_class=HTMLResponse)
@router.post("/profile/{system}/{code}/sections/{key}", response_class=HTMLResponse)
async def save_from_form(
    request: Request,
    system: str,
    code: str,
    key: str | None = None,
    level: str | None = None,
    w: Writer = Depends(record_writer),
    standard: dict[str, str] = Depends(standard_sections),
) -> Response:
    data = _section_input(await request.form())
    with w.engine.begin() as conn:
        region = find_region(conn, system, code, level)
        state = save_section(conn, region.id, key, data, w.user, standard)
    return RedirectResponse(f"{_base_url(system, code)}{_query(level)}#text-{state['key']}", 303)


@router.get("/profile/{system}/{code}/sections/{key}/history", response_class=HTMLResponse)
def section_history_page(
    request: Request,
    system: str,
    code: str,
    key: str,
    level: str | None = None,
    conn: Connection = Depends(get_connection),
    user=Depends(signed_in_reader),
    visitor: Visitor = Depends(current_visitor),
) -> HTMLResponse:
    region = find_region(conn, system, code, level)
    section_id = section_id_of(conn, region.id, key)
    state = section_state(conn, section_id, with_deleted=True)
    context = {
        "region": region,
        "section": state,
        "entries": list(reversed(history_of(conn, "section", section_id))),
        "actions": ACTIONS,
        "may_edit": visitor.may_edit(state["districts"]),
        "base_url": _base_url(system, code),
        "query": _query(level),
    }
    return templates.TemplateResponse(request, "section_history.html", context)


@router.post("/profile/{system}/{code}/sections/{key}/restore", response_class=HTMLResponse)
def restore_from_form(
    system: str,
    code: str,
    key: str,
    restore: int = Form(ge=1),
    version: int = Form(ge=1),
    level: str | None = None,
    w: Writer = Depends(record_writer),
) -> Response:
    with w.engine.begin() as conn:
        region = find_region(conn, system, code, level)
        restore_section(conn, section_id_of(conn, region.id, key), restore, version, w.user)
    return RedirectResponse(f"{_base_url(system, code)}{_query(level)}#text-{key}", 303)
