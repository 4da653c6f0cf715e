"""Mapbox vector tiles of every collection under ``/tiles`` (regions with indicator values,
facilities, public projects): TileJSON for MapLibre, ``metadata.json`` so GDAL's MVT driver
opens a layer as one dataset, a MapLibre style per layer, and the tiles (``.mvt`` and ``.pbf``,
the extension GDAL asks for)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from spatial.features import FeatureSource
from web.collections import Collection, CollectionSources, get_sources
from web.tile_serving import TileQuery, serve_tile, tile_parameters
from web.tilesets import (
    MVT,
    STYLE,
    gdal_metadata,
    style_response,
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


@dataclass(frozen=True)
class AskedLayer:
    """A layer as a request names it: the collection, its indicators and period."""

    sources: CollectionSources
    chosen: Collection
    keys: list[str]
    period: date | None

    def source(self) -> FeatureSource:
        return self.sources.source(self.chosen, self.keys, self.period)


def asked_layer(
    layer: str,
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> AskedLayer:
    chosen = sources.collection(layer)
    return AskedLayer(sources, chosen, sources.indicators(indicators, chosen), period)


@router.get("/{layer}.json", summary="TileJSON of a layer", responses={404: {}})
def layer_tilejson(request: Request, asked: AskedLayer = Depends(asked_layer)) -> dict:
    url = f"{_root(request)}/tiles/{asked.chosen.id}/{{z}}/{{x}}/{{y}}.mvt{_query(request)}"
    return tilejson(asked.chosen, asked.source(), url)


@router.get(
    "/{layer}/metadata.json",
    summary="The layer as a tile directory describes itself (GDAL: MVT:<url of the layer>/<z>)",
    responses={404: {}},
)
def layer_metadata(asked: AskedLayer = Depends(asked_layer)) -> dict:
    return gdal_metadata(asked.chosen, asked.source(), GDAL_MAX_ZOOM)


@router.get(
    "/{layer}/style.json",
    summary="MapLibre style of a layer: choropleth classes and legend colours",
    response_class=JSONResponse,
    responses={200: {"content": {STYLE: {}}}, 404: {}},
)
def style(request: Request, asked: AskedLayer = Depends(asked_layer)) -> JSONResponse:
    return style_response(request, asked.sources, asked.chosen, asked.keys, asked.period)


async def _tile(request: Request, layer: str) -> Response:
    asked = TileQuery.of(request)
    return await run_in_threadpool(serve_tile, request, layer, asked)


_TILE_RESPONSES = {200: {"content": {MVT: {}}}, 304: {}, 400: {}, 404: {}}
router.get(
    "/{layer}/{z}/{x}/{y}.mvt",
    summary="One vector tile",
    response_class=Response,
    responses=_TILE_RESPONSES,
    openapi_extra={"parameters": tile_parameters()},
)(_tile)
router.get(
    "/{layer}/{z}/{x}/{y}.pbf",
    summary="One vector tile (the extension GDAL's MVT driver asks for)",
    response_class=Response,
    responses=_TILE_RESPONSES,
    include_in_schema=False,
)(_tile)
