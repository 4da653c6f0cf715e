"""``/api/systems``: the region systems in the store and their levels."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy.engine import Connection

from layers.regions import get_region_system, list_region_systems
from web.deps import get_connection

router = APIRouter(tags=["regions"])


class LevelOut(BaseModel):
    key: str
    name: str
    rank: int
    code_length: int | None
    regions: int
    attribution: str | None
    licence: str | None


class SystemOut(BaseModel):
    key: str
    name: str
    city: str
    valid_from: date | None
    valid_to: date | None
    source: str | None
    licence: str | None
    attribution: str | None
    levels: list[LevelOut]


@router.get("/systems", response_model=list[SystemOut], summary="List region systems")
def systems(conn: Connection = Depends(get_connection)) -> list[dict]:
    return list_region_systems(conn)


@router.get(
    "/systems/{key}",
    response_model=SystemOut,
    summary="One region system",
    responses={404: {"description": "Unknown region system"}},
)
def system(key: str, conn: Connection = Depends(get_connection)) -> dict:
    found = get_region_system(conn, key)
    if found is None:
        raise HTTPException(status_code=404, detail=f"unknown region system {key!r}")
    return found
