"""Facilities: the categories, and points by category, bounding box and region (GeoJSON)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from layers.facilities import facilities_geojson, facility_categories
from layers.regions import find_region
from web.deps import get_connection, get_settings
from web.params import capped_limit, check_region_filter, parse_bbox
from web.settings import WebSettings

router = APIRouter(tags=["facilities"])
GEOJSON = "application/geo+json"


@router.get("/facility-categories", summary="Facility categories and how many are loaded")
def categories(conn: Connection = Depends(get_connection)) -> list[dict]:
    return facility_categories(conn)


@router.get(
    "/facilities",
    summary="Facilities as GeoJSON points",
    description="Filtered by category, bounding box (degrees) and region (with `system`; the "
    "facilities inside it). The foreign members `numberReturned` and `truncated` say whether "
    "the limit cut the result.",
    response_class=Response,
    responses={
        200: {"content": {GEOJSON: {}}},
        404: {"description": "Unknown category, system or region"},
        422: {"description": "Bad bbox or limit over the cap"},
    },
)
def facilities(
    category: str | None = Query(None, description="Category key, e.g. kita"),
    bbox: str | None = Query(None, description="west,south,east,north in degrees"),
    system: str | None = Query(None, description="Region system of `region`"),
    region: str | None = Query(None, description="Region code, e.g. 101001"),
    limit: int | None = Query(None, ge=1, description="At most this many facilities"),
    conn: Connection = Depends(get_connection),
    settings: WebSettings = Depends(get_settings),
) -> Response:
    check_region_filter(system, region)
    found = find_region(conn, system, region) if region is not None else None
    features, returned, truncated = facilities_geojson(
        conn,
        category,
        parse_bbox(bbox),
        found,
        capped_limit(limit, settings.max_features),
        settings.coordinate_decimals + 1,
    )
    tail = f',"numberReturned":{returned},"truncated":{"true" if truncated else "false"}}}'
    return Response(features + tail, media_type=GEOJSON)
