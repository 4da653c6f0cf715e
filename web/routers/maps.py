"""Indicator values of a level and period: as a table with reference values, and as a
choropleth FeatureCollection with class and colour per region and the legend."""

from __future__ import annotations

import gzip
from datetime import date

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import build_choropleth, cached_table, choropleth_geojson, value_label
from layers.classify import MAX_CLASSES, METHODS, MIN_CLASSES
from web.deps import get_cache, get_connection, get_settings
from web.params import parse_breaks
from web.settings import WebSettings

router = APIRouter(tags=["indicators"])
GEOJSON = "application/geo+json"
_NOT_FOUND = {404: {"description": "Unknown region system, level or indicator"}}
_BAD = {422: {"description": "Bad parameter: period without values, method, classes, breaks"}}


@router.get(
    "/values/{system}/{level}/{indicator}",
    summary="Indicator values of every region of a level for a period",
    description="Per region: value, status (valid, no_data, suppressed), `partial` (not all "
    "children had values), the value of the parent region; and the city value. Without "
    "`period` the latest period with values.",
    responses={**_NOT_FOUND, **_BAD},
)
def values(
    system: str,
    level: str,
    indicator: str,
    period: date | None = Query(None, description="Reference date, e.g. 2024-12-31"),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
) -> dict:
    table = cached_table(conn, cache, system, level, indicator, period)
    meta = table.indicator
    rows = [
        {
            "code": r.code,
            "name": r.name,
            "value": None if r.status != "valid" else float(r.value),
            "status": r.status,
            "partial": bool(r.partial),
            "label": value_label(meta, r.value, r.status),
            "parent_code": r.parent_code,
            "parent_value": None if pd.isna(r.parent_value) else float(r.parent_value),
        }
        for r in table.rows.itertuples(index=False)
    ]
    return {
        "system": system,
        "level": level,
        "indicator": meta.key,
        "name": meta.name_de,
        "unit": meta.unit,
        "period": table.period,
        "city_value": table.city_value,
        "city_label": value_label(meta, table.city_value),
        "notes": table.notes,
        "regions": rows,
    }


@router.get(
    "/choropleth/{system}/{level}/{indicator}",
    summary="Choropleth of an indicator: regions with value, status, class and colour",
    description="A GeoJSON FeatureCollection (EPSG:4326, display geometry) whose features carry "
    "value, status, class, colour and German labels; foreign members `legend` (method, breaks, "
    "colours, counts; entries for regions without data and suppressed ones), `reference` (the "
    "city value), `indicator`, `level`, `period`.",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, **_NOT_FOUND, **_BAD},
)
def choropleth(
    request: Request,
    system: str,
    level: str,
    indicator: str,
    period: date | None = Query(None, description="Reference date; default the latest"),
    method: str | None = Query(
        None, description=f"One of {', '.join(METHODS)}; default quantiles (fixed for classes)"
    ),
    classes: int = Query(5, ge=MIN_CLASSES, le=MAX_CLASSES, description="Number of classes"),
    breaks: str | None = Query(None, description="Upper class bounds for method=manual"),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
) -> Response:
    key = ("choropleth", system, level, indicator, period, method, classes, breaks)

    def compute() -> tuple[bytes, bytes]:
        built = build_choropleth(
            conn, cache, system, level, indicator, period, method, classes, parse_breaks(breaks)
        )
        body = choropleth_geojson(conn, built, settings.coordinate_decimals).encode()
        return body, gzip.compress(body, compresslevel=6)

    body, packed = cache.get_or_compute(conn, key, compute)
    # compressed once with the cached body, not by the middleware on every request
    if "gzip" in request.headers.get("accept-encoding", ""):
        return Response(
            packed,
            media_type=GEOJSON,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(body, media_type=GEOJSON)
