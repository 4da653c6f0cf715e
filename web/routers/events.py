"""Participation events API (signed-in users read, coordinators of the district write); the
counts per region and year are catalog indicators (``participation_*``) once saved."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Connection

from accounts.users import User
from layers.errors import InvalidParameter
from records.events import (
    EventInput,
    EventUpdate,
    delete_event,
    event_state,
    list_events,
    save_event,
)
from records.history import history_of
from records.vocabulary import EVENT_TYPES
from web.auth import Writer, record_writer, signed_in_reader
from web.deps import get_connection, get_settings
from web.params import capped_limit, check_region_filter
from web.routers.projects import WRITE_ERRORS
from web.settings import WebSettings

router = APIRouter(tags=["events"])


def check_event_filter(system: str | None, region: str | None, event_type: str | None) -> None:
    """The filters of event lists and exports: a region with its system, a known type."""
    check_region_filter(system, region)
    if event_type is not None and event_type not in EVENT_TYPES:
        raise InvalidParameter(
            f"unknown event type {event_type!r}; allowed: {', '.join(EVENT_TYPES)}"
        )


@router.get("/events", summary="Participation events (signed-in users)")
def events(
    system: str | None = None,
    region: str | None = Query(None, description="Region code of any level of `system`"),
    year: int | None = Query(None, ge=1900, le=2200),
    type: str | None = Query(None, description="Event type, e.g. Sozialraumgespräch"),
    limit: int | None = Query(None, ge=1),
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
    settings: WebSettings = Depends(get_settings),
) -> list[dict]:
    check_event_filter(system, region, type)
    return list_events(
        conn,
        system=system,
        region=region,
        year=year,
        event_type=type,
        limit=capped_limit(limit, settings.max_features),
    )


@router.get("/events/{event_id}", summary="One event with its history")
def event(
    event_id: int,
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
) -> dict:
    state = event_state(conn, event_id)
    state["history"] = [
        {
            "version": e.version,
            "action": e.action,
            "user": e.user,
            "at": e.at.isoformat(),
            "changed": e.changed_fields(),
        }
        for e in history_of(conn, "event", event_id)
    ]
    return state


@router.post("/events", status_code=201, summary="Record an event", responses=WRITE_ERRORS)
def create(
    data: EventInput,
    w: Writer = Depends(record_writer),
) -> JSONResponse:
    with w.engine.begin() as conn:
        state = save_event(conn, data, w.user, w.srid, w.limits)
    w.indicators_changed()
    return JSONResponse({"event": state}, status_code=201)


@router.put("/events/{event_id}", summary="Update an event", responses=WRITE_ERRORS)
def update(
    event_id: int,
    data: EventUpdate,
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        state = save_event(conn, data, w.user, w.srid, w.limits, event_id)
    w.indicators_changed()
    return {"event": state}


@router.delete("/events/{event_id}", summary="Delete an event (soft)", responses=WRITE_ERRORS)
def delete(
    event_id: int,
    version: int = Query(ge=1),
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        delete_event(conn, event_id, version, w.user)
    w.indicators_changed()
    return {"deleted": event_id}
