"""Written sections of region profiles as an API: list, write (create or change, optimistic
concurrency by ``version``), delete, history and restore. Anonymous readers see public
sections only; writes need a coordinator of the region's district (or an admin)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from accounts.users import User
from layers.regions import find_region
from records.history import history_of
from records.sections import (
    SectionInput,
    delete_section,
    restore_section,
    save_section,
    section_id_of,
    sections_of,
)
from web.auth import Visitor, Writer, current_visitor, record_writer, signed_in_reader
from web.deps import get_connection, standard_sections

router = APIRouter(prefix="/profiles/{system}/{code}/sections", tags=["profiles"])
WRITE_ERRORS = {
    401: {"description": "Not signed in"},
    403: {"description": "Role or district does not allow the write"},
    404: {"description": "No such region or section"},
    409: {"description": "The section changed since the given version"},
    422: {"description": "Invalid input"},
}
LEVEL = Query(None, description="Region level, where a code repeats on several levels")


class Restore(BaseModel):
    restore: int = Field(ge=1, description="The version to make current again")
    version: int = Field(ge=1, description="The current version the restore is based on")


@router.get("", summary="The written sections of a region's profile")
def list_sections(
    system: str,
    code: str,
    level: str | None = LEVEL,
    conn: Connection = Depends(get_connection),
    visitor: Visitor = Depends(current_visitor),
    standard: dict[str, str] = Depends(standard_sections),
) -> list[dict]:
    region = find_region(conn, system, code, level)
    return sections_of(conn, region.id, public_only=not visitor.signed_in, standard=standard)


@router.post("", summary="Add a free section", status_code=201, responses=WRITE_ERRORS)
def add_section(
    system: str,
    code: str,
    data: SectionInput,
    level: str | None = LEVEL,
    w: Writer = Depends(record_writer),
    standard: dict[str, str] = Depends(standard_sections),
) -> dict:
    return _save(system, code, None, data, level, w, standard)


@router.put("/{key}", summary="Write a section (version 0: its first)", responses=WRITE_ERRORS)
def write_section(
    system: str,
    code: str,
    key: str,
    data: SectionInput,
    level: str | None = LEVEL,
    w: Writer = Depends(record_writer),
    standard: dict[str, str] = Depends(standard_sections),
) -> dict:
    return _save(system, code, key, data, level, w, standard)


def _save(
    system: str,
    code: str,
    key: str | None,
    data: SectionInput,
    level: str | None,
    w: Writer,
    standard: dict[str, str],
) -> dict:
    with w.engine.begin() as conn:
        region = find_region(conn, system, code, level)
        return save_section(conn, region.id, key, data, w.user, standard)


@router.delete("/{key}", summary="Delete a section (soft)", responses=WRITE_ERRORS)
def remove_section(
    system: str,
    code: str,
    key: str,
    version: int = Query(ge=1, description="The version the deletion is based on"),
    level: str | None = LEVEL,
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        region = find_region(conn, system, code, level)
        state = delete_section(conn, section_id_of(conn, region.id, key), version, w.user)
    return {"deleted": key, "version": state["version"]}


@router.get("/{key}/history", summary="Every version of a section")
def section_history(
    system: str,
    code: str,
    key: str,
    level: str | None = LEVEL,
    conn: Connection = Depends(get_connection),
    user: User = Depends(signed_in_reader),
) -> list[dict]:
    region = find_region(conn, system, code, level)
    entries = history_of(conn, "section", section_id_of(conn, region.id, key))
    return [
        {
            "version": e.version,
            "action": e.action,
            "user": e.user,
            "at": e.at.isoformat(),
            "changed": [f for f in e.changed_fields() if f != "version"],
            "after": e.after,
        }
        for e in entries
    ]


@router.post("/{key}/restore", summary="Make an earlier version current", responses=WRITE_ERRORS)
def restore(
    system: str,
    code: str,
    key: str,
    body: Restore,
    level: str | None = LEVEL,
    w: Writer = Depends(record_writer),
) -> dict:
    with w.engine.begin() as conn:
        region = find_region(conn, system, code, level)
        section_id = section_id_of(conn, region.id, key)
        return restore_section(conn, section_id, body.restore, body.version, w.user)
