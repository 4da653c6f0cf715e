"""Projects API: filtered GeoJSON list, one project, create/update/delete (optimistic
concurrency by ``version``), history and restore, contacts with consent and their withdrawal.

Anonymous readers see public projects; signed-in users all; contacts only the project's
coordinators and admins. Every write checks role and districts in the records layer."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from accounts.users import User
from layers.errors import InvalidParameter
from records.contacts import ContactInput, add_contact, withdraw_consent
from records.errors import RecordNotFound
from records.history import history_of, without_contacts
from records.projects import (
    ProjectInput,
    ProjectUpdate,
    create_project,
    delete_project,
    project_state,
    restore_project,
    update_project,
)
from records.queries import ProjectFilter, projects_geojson
from records.vocabulary import (
    EVENT_GROUPS,
    EVENT_TYPES,
    PROJECT_STATUSES,
    PROJECT_TOPICS,
    STATUS_COLOURS,
)
from web.auth import Visitor, Writer, current_visitor, record_writer, signed_in_reader
from web.deps import get_connection, get_settings
from web.params import capped_limit, check_region_filter, parse_bbox
from web.settings import WebSettings

router = APIRouter(tags=["projects"])
GEOJSON = "application/geo+json"
WRITE_ERRORS = {
    401: {"description": "Not signed in"},
    403: {"description": "Role or district does not allow it, or CSRF token missing"},
    404: {"description": "No such project"},
    409: {"description": "Outdated version: nothing saved, the changes since are listed"},
    422: {"description": "Invalid input: nothing written"},
}


class Restore(BaseModel):
    restore_version: int = Field(ge=1, description="The version to bring back.")
    version: int = Field(ge=1, description="The current version the restore is based on.")


def shown(state: dict, visitor: Visitor) -> dict:
    """A project as this visitor may see it."""
    if visitor.may_see_contacts(state["districts"]):
        return state
    return without_contacts(state)


def parse_filter(
    visitor: Visitor,
    system: str | None,
    region: str | None,
    status: str | None,
    topic: str | None,
    active_from: date | None,
    active_to: date | None,
    bbox: str | None,
) -> ProjectFilter:
    check_region_filter(system, region)
    if status is not None and status not in PROJECT_STATUSES:
        raise InvalidParameter(f"unknown status {status!r}; allowed: {', '.join(PROJECT_STATUSES)}")
    if topic is not None and topic not in PROJECT_TOPICS:
        raise InvalidParameter(f"unknown topic {topic!r}; allowed: {', '.join(PROJECT_TOPICS)}")
    return ProjectFilter(
        system=system,
        region=region,
        status=status,
        topic=topic,
        active_from=active_from,
        active_to=active_to,
        bbox=parse_bbox(bbox),
        public_only=not visitor.signed_in,
    )


@router.get("/vocabulary", summary="The controlled lists of projects and events")
def vocabulary() -> dict:
    return {
        "project_statuses": list(PROJECT_STATUSES),
        "status_colours": STATUS_COLOURS,
        "project_topics": list(PROJECT_TOPICS),
        "event_types": list(EVENT_TYPES),
        "event_groups": list(EVENT_GROUPS),
    }


@router.get(
    "/projects",
    summary="Projects as GeoJSON (public ones for anonymous visitors)",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 422: {"description": "Bad filter"}},
)
def projects(
    system: str | None = Query(None, description="Region system of `region`"),
    region: str | None = Query(None, description="Region code of any level"),
    status: str | None = None,
    topic: str | None = None,
    active_from: date | None = Query(None, description="Running on or after this date"),
    active_to: date | None = Query(None, description="Running on or before this date"),
    bbox: str | None = Query(None, description="west,south,east,north in degrees"),
    limit: int | None = Query(None, ge=1),
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    visitor: Visitor = Depends(current_visitor),
) -> Response:
    filters = parse_filter(visitor, system, region, status, topic, active_from, active_to, bbox)
    body, _, _ = projects_geojson(
        conn,
        filters,
        capped_limit(limit, settings.max_features),
        settings.coordinate_decimals + 1,
    )
    return Response(body, media_type=GEOJSON)


@router.get("/projects/{project_id}", summary="One project", responses={404: {}})
def project(
    project_id: int,
    conn: Connection = Depends(get_connection),
    visitor: Visitor = Depends(current_visitor),
) -> dict:
    state = project_state(conn, project_id)
    if not state["public"] and not visitor.signed_in:
        raise RecordNotFound(f"project {project_id} does not exist")
    return shown(state, visitor)


def _saved(state: dict, notes: list[str], visitor: Visitor, status: int = 200) -> JSONResponse:
    return JSONResponse(
        {"project": shown(state, visitor), "notes": notes},
        status_code=status,
    )


@router.post("/projects", status_code=201, summary="Create a project", responses=WRITE_ERRORS)
def create(
    data: ProjectInput,
    w: Writer = Depends(record_writer),
    visitor: Visitor = Depends(current_visitor),
) -> JSONResponse:
    with w.engine.begin() as conn:
        state, notes = create_project(conn, data, w.user, w.srid, w.limits)
    return _saved(state, notes, visitor, 201)


@router.put("/projects/{project_id}", summary="Update a project", responses=WRITE_ERRORS)
def update(
    project_id: int,
    data: ProjectUpdate,
    w: Writer = Depends(record_writer),
    visitor: Visitor = Depends(current_visitor),
) -> JSONResponse:
    with w.engine.begin() as conn:
        state, notes = update_project(conn, project_id, data, w.user, w.srid, w.limits)
    return _saved(state, notes, visitor)


@router.delete("/projects/{project_id}", summary="Delete a project (soft)", responses=WRITE_ERRORS)
def delete(
    project_id: int,
    version: int = Query(ge=1, description="The version the deletion is based on"),
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        state = delete_project(conn, project_id, version, w.user)
    return {"deleted": project_id, "version": state["version"]}


@router.get("/projects/{project_id}/history", summary="Every version of a project")
def history(
    project_id: int,
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
    visitor: Visitor = Depends(current_visitor),
) -> list[dict]:
    state = project_state(conn, project_id, with_deleted=True)
    personal = visitor.may_see_contacts(state["districts"])
    return [
        {
            "version": e.version,
            "action": e.action,
            "user": e.user,
            "at": e.at.isoformat(),
            "changed": e.changed_fields(),
            "before": e.before if personal else without_contacts(e.before),
            "after": e.after if personal else without_contacts(e.after),
        }
        for e in history_of(conn, "project", project_id)
    ]


@router.post(
    "/projects/{project_id}/restore", summary="Restore an earlier version", responses=WRITE_ERRORS
)
def restore(
    project_id: int,
    data: Restore,
    w: Writer = Depends(record_writer),
    visitor: Visitor = Depends(current_visitor),
) -> JSONResponse:
    with w.engine.begin() as conn:
        state, notes = restore_project(
            conn, project_id, data.restore_version, data.version, w.user, w.srid, w.limits
        )
    return _saved(state, notes, visitor)


@router.post(
    "/projects/{project_id}/contacts",
    status_code=201,
    summary="Add a contact (only with recorded consent)",
    responses=WRITE_ERRORS,
)
def contact_add(
    project_id: int,
    data: ContactInput,
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        return add_contact(conn, project_id, data, w.user)


@router.post(
    "/contacts/{contact_id}/withdraw",
    summary="Withdraw consent: the personal fields are erased everywhere",
    responses=WRITE_ERRORS,
)
def contact_withdraw(
    contact_id: int,
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        rewritten = withdraw_consent(conn, contact_id, w.user)
    return {"withdrawn": contact_id, "history_entries_erased": rewritten}
