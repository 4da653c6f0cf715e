"""Mapbox vector tiles of every collection under ``/tiles`` (regions with indicator values,
facilities, public projects): TileJSON for MapLibre, ``metadata.json`` so GDAL's MVT driver
opens a layer as one dataset, a MapLibre style per layer, and the tiles (``.mvt`` and ``.pbf``,
the extension GDAL asks for)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from web.collections import CollectionSources, get_sources
from web.tilesets import (
    MAX_ZOOM,
    MVT,
    STYLE,
    TileAsk,
    gdal_metadata,
    layer_style,
    tile_response,
    tilejson,
)

router = APIRouter(prefix="/tiles", tags=["vector tiles"])
# GDAL reads a tileset down to this zoom when it opens it whole (deeper zooms stay reachable)
GDAL_MAX_ZOOM = 14
_INDICATORS = Query(None, description="Indicator keys of region layers")
_PERIOD = Query(None, description="Reference date; default the latest")


def _root(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _query(request: Request) -> str:
    return f"?{request.url.query}" if request.url.query else ""


@router.get("/{layer}.json", summary="TileJSON of a layer", responses={404: {}})
def layer_tilejson(
    layer: str,
    request: Request,
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> dict:
    chosen = sources.collection(layer)
    source = sources.source(chosen, sources.indicators(indicators, chosen), period)
    url = f"{_root(request)}/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt{_query(request)}"
    return tilejson(chosen, source, url)


@router.get(
    "/{layer}/metadata.json",
    summary="The layer as a tile directory describes itself (GDAL: MVT:<url of the layer>)",
    responses={404: {}},
)
def layer_metadata(
    layer: str,
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> dict:
    chosen = sources.collection(layer)
    source = sources.source(chosen, sources.indicators(indicators, chosen), period)
    return gdal_metadata(chosen, source, GDAL_MAX_ZOOM)


@router.get(
    "/{layer}/style.json",
    summary="MapLibre style of a layer: choropleth classes and legend colours",
    response_class=JSONResponse,
    responses={200: {"content": {STYLE: {}}}, 404: {}},
)
def style(
    layer: str,
    request: Request,
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> JSONResponse:
    chosen = sources.collection(layer)
    keys = sources.indicators(indicators, chosen)
    source = sources.source(chosen, keys, period)
    url = f"{_root(request)}/tiles/{layer}.json{_query(request)}"
    return JSONResponse(layer_style(sources, chosen, source, url, keys, period), media_type=STYLE)


def _tile(
    layer: str,
    request: Request,
    z: int = Path(ge=0, le=MAX_ZOOM),
    x: int = Path(ge=0),
    y: int = Path(ge=0),
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> Response:
    chosen = sources.collection(layer)
    keys = sources.indicators(indicators, chosen)
    return tile_response(request, sources, TileAsk(chosen, keys, period, z, x, y))


_TILE_RESPONSES = {200: {"content": {MVT: {}}}, 304: {}, 400: {}, 404: {}}
router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses=_TILE_RESPONSES,
)(_tile)
router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    summary="One vector tile (the extension GDAL's MVT driver asks for)",
    response_class=Response,
    responses=_TILE_RESPONSES,
    include_in_schema=False,
)(_tile)
