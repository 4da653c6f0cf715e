"""The indicator catalog, grouped by topic, and one indicator with its periods."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.engine import Connection

from layers.catalog import catalog_by_topic, catalog_entries
from layers.choropleth import periods_of
from layers.indicators import get_indicator
from layers.levels import finest_level
from spatial.cities import Cities
from web.deps import default_system, get_cities, get_connection, get_settings
from web.settings import WebSettings

router = APIRouter(tags=["indicators"])


@router.get("/indicators", summary="The indicator catalog, grouped by topic")
def catalog(conn: Connection = Depends(get_connection)) -> list[dict]:
    return catalog_by_topic(conn)


@router.get(
    "/indicators/{key}",
    summary="One indicator with the periods it has values for in a region system",
    responses={404: {"description": "Unknown indicator or region system"}},
)
def indicator(
    key: str,
    system: str | None = Query(None, description="Region system of the periods"),
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
    cities: Cities = Depends(get_cities),
) -> dict:
    meta = get_indicator(conn, key)
    system = system or default_system(conn, settings, cities)
    entry = catalog_entries(conn, key)[0]
    entry["periods"] = periods_of(conn, meta, finest_level(conn, system))
    return entry
