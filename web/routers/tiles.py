"""Mapbox vector tiles of every collection (regions with indicator values, facilities, public
projects) built by PostGIS with ST_AsMVT, a TileJSON document per layer, and HTTP caching:
an ETag per tile, ``Cache-Control`` and a small in-memory cache keyed by the data version."""

from __future__ import annotations

import hashlib
from datetime import date

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from spatial.cities import Cities
from spatial.features import Attribution
from spatial.tiles import mvt_tile
from web.deps import get_cache, get_cities, get_connection, get_records, get_settings
from web.ogc import BadOgcRequest, collection_source, get_collection, service_indicators
from web.settings import WebSettings

router = APIRouter(prefix="/tiles", tags=["vector tiles"])
MVT = "application/vnd.mapbox-vector-tile"
MAX_ZOOM = 22
_KINDS = {"int": "Number", "float": "Number", "bool": "Boolean"}


@router.get("/{layer}.json", summary="TileJSON of a layer", responses={404: {}})
def tilejson(
    layer: str,
    request: Request,
    indicators: str | None = Query(None, description="Indicator keys of region layers"),
    period: date | None = Query(None, description="Reference date; default the latest"),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
    records: Attribution = Depends(get_records),
    cities: Cities = Depends(get_cities),
) -> dict:
    chosen = get_collection(conn, cache, layer)
    source = collection_source(
        conn,
        cache,
        chosen,
        service_indicators(indicators, settings, cities, chosen),
        period,
        records,
    )
    query = request.url.query
    url = str(request.base_url).rstrip("/") + f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
    west, south, east, north = source.extent or (-180, -85, 180, 85)
    return {
        "tilejson": "3.0.0",
        "name": chosen.title,
        "description": chosen.description,
        "attribution": source.attribution_text(),
        "scheme": "xyz",
        "tiles": [url + (f"?{query}" if query else "")],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, 11],
        "vector_layers": [
            {
                "id": layer,
                "description": source.title,
                "fields": {f.name: _KINDS.get(f.kind, "String") for f in source.fields},
            }
        ],
    }


@router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 304: {}, 400: {}, 404: {}},
)
def tile(
    layer: str,
    request: Request,
    z: int = Path(ge=0, le=MAX_ZOOM),
    x: int = Path(ge=0),
    y: int = Path(ge=0),
    indicators: str | None = Query(None, description="Indicator keys of region layers"),
    period: date | None = Query(None, description="Reference date; default the latest"),
    conn: Connection = Depends(get_connection),
    cache: LayerCache = Depends(get_cache),
    settings: WebSettings = Depends(get_settings),
    records: Attribution = Depends(get_records),
    cities: Cities = Depends(get_cities),
) -> Response:
    if x >= 2**z or y >= 2**z:
        raise BadOgcRequest(f"tile {z}/{x}/{y} does not exist: x and y must be below {2**z}")
    chosen = get_collection(conn, cache, layer)
    keys = service_indicators(indicators, settings, cities, chosen)

    def compute() -> tuple[bytes, str]:
        source = collection_source(conn, cache, chosen, keys, period, records)
        data = mvt_tile(conn, source, layer, z, x, y)
        return data, '"' + hashlib.blake2b(data, digest_size=12).hexdigest() + '"'

    if not chosen.follows_ingest:
        data, etag = compute()
    else:
        tiles: LayerCache = request.app.state.tiles
        data, etag = tiles.get_or_compute(conn, (layer, tuple(keys), period, z, x, y), compute)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={settings.tile_max_age}"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(data, media_type=MVT, headers=headers)
