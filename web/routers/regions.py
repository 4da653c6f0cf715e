"""Regions of a level (GeoJSON) and one region with its parents, children and values."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.figures import catalog_keys, region_figures
from layers.levels import get_level
from layers.regions import children_of, find_region, level_geojson, parents_of, region_geometry
from web.deps import get_cache, get_connection, get_settings
from web.params import capped_limit, parse_bbox
from web.settings import WebSettings

router = APIRouter(tags=["regions"])
GEOJSON = "application/geo+json"


@router.get(
    "/systems/{system}/levels/{level}/regions",
    summary="Regions of a level as GeoJSON",
    description="Display geometry (simplified, EPSG:4326) with code, name, parent code and area.",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 404: {"description": "Unknown system or level"}},
)
def level_regions(
    system: str,
    level: str,
    bbox: str | None = Query(None, description="west,south,east,north in degrees"),
    limit: int | None = Query(None, ge=1, description="At most this many regions"),
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
) -> Response:
    found = get_level(conn, system, level)
    cap = capped_limit(limit, settings.max_features)
    body = level_geojson(conn, found, settings.coordinate_decimals, parse_bbox(bbox), cap)
    return Response(body, media_type=GEOJSON)


@router.get(
    "/systems/{system}/regions/{code}",
    summary="One region: hierarchy, geometry and indicator values",
    description="Parents (coarsest first), children, display geometry and bounding box, and "
    "every indicator's value for `period` (else each indicator's latest) beside the value of "
    "the Bezirk (coarsest level) and of the city.",
    responses={404: {"description": "Unknown system or region"}},
)
def region(
    system: str,
    code: str,
    level: str | None = Query(None, description="Level, where a code repeats on levels"),
    period: date | None = Query(None, description="Reference date, e.g. 2024-12-31"),
    indicators: str | None = Query(None, description="Comma-separated keys; default: all"),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
) -> dict:
    found = find_region(conn, system, code, level)
    parents = parents_of(conn, found)
    keys = indicators.split(",") if indicators else catalog_keys(conn)
    figures = region_figures(conn, cache, found, parents[0] if parents else None, keys, period)
    return {
        "system": system,
        "code": found.code,
        "name": found.name,
        "level": {"key": found.level.key, "name": found.level.name},
        "area_km2": round(found.area_m2 / 1e6, 3),
        "parents": [
            {"code": p.code, "name": p.name, "level": p.level.key, "level_name": p.level.name}
            for p in parents
        ],
        "children": children_of(conn, found),
        **region_geometry(conn, found, settings.coordinate_decimals),
        "values": [
            {
                "indicator": f.key,
                "name": f.name,
                "topic": f.topic,
                "unit": f.unit,
                "period": f.period,
                "value": f.value,
                "status": f.status,
                "label": f.label,
                "bezirk_label": f.top_label,
                "city_label": f.city_label,
            }
            for f in figures
        ],
    }
