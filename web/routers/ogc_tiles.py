"""OGC API – Tiles under ``/ogc`` beside the features: the WebMercatorQuad tile matrix set,
each collection's vector tilesets (list and metadata), its tiles by tileMatrix/tileRow/tileCol,
and its default style (MapLibre)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from layers.errors import NotFound
from web.collections import CollectionSources, get_sources
from web.ogc import JSON, check_parameters, ogc_base
from web.tile_serving import TileQuery, serve_tile, tile_parameters
from web.tilesets import (
    MVT,
    STYLE,
    TMS_ID,
    TMS_URI,
    style_response,
    tile_matrix_set,
    tileset_document,
)

router = APIRouter(prefix="/ogc", tags=["OGC API Tiles"])
_INDICATORS = Query(None, description="Indicator keys of region collections")
_PERIOD = Query(None, description="Reference date; default the latest")
# the tile route's zoom, column and row as its path names them
OGC_TILE_NAMES = ("tile_matrix", "tile_col", "tile_row")


def _known_tms(tms: str) -> None:
    if tms != TMS_ID:
        raise NotFound(f"unknown tile matrix set {tms!r}; offered: {TMS_ID}")


@router.get("/tileMatrixSets", summary="Tile matrix sets")
def tile_matrix_sets(request: Request) -> dict:
    check_parameters(request.query_params, {"f"})
    url = f"{ogc_base(request)}/tileMatrixSets/{TMS_ID}"
    return {
        "tileMatrixSets": [
            {
                "id": TMS_ID,
                "title": "Google Maps Compatible for the World",
                "uri": TMS_URI,
                "links": [{"href": url, "rel": "self", "type": JSON}],
            }
        ]
    }


@router.get("/tileMatrixSets/{tms}", summary="One tile matrix set", responses={404: {}})
def one_tile_matrix_set(tms: str, request: Request) -> dict:
    check_parameters(request.query_params, {"f"})
    _known_tms(tms)
    return tile_matrix_set()


@router.get("/collections/{collection_id}/tiles", summary="Vector tilesets of a collection")
def tilesets(
    collection_id: str, request: Request, sources: CollectionSources = Depends(get_sources)
) -> dict:
    check_parameters(request.query_params, {"f"})
    chosen = sources.collection(collection_id)
    base = ogc_base(request)
    url = f"{base}/collections/{chosen.id}/tiles/{TMS_ID}"
    return {
        "links": [{"href": f"{base}/collections/{chosen.id}/tiles", "rel": "self", "type": JSON}],
        "tilesets": [
            {
                "title": chosen.title,
                "dataType": "vector",
                "crs": "http://www.opengis.net/def/crs/EPSG/0/3857",
                "tileMatrixSetURI": TMS_URI,
                "links": [
                    {"href": url, "rel": "self", "type": JSON},
                    {
                        "href": f"{base}/tileMatrixSets/{TMS_ID}",
                        "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                        "type": JSON,
                    },
                ],
            }
        ],
    }


@router.get("/collections/{collection_id}/tiles/{tms}", summary="Tileset metadata")
def tileset(
    collection_id: str,
    tms: str,
    request: Request,
    indicators: str | None = _INDICATORS,
    sources: CollectionSources = Depends(get_sources),
) -> dict:
    check_parameters(request.query_params, {"f", "indicators"})
    _known_tms(tms)
    chosen = sources.collection(collection_id)
    source = sources.source(chosen, sources.indicators(indicators, chosen))
    return tileset_document(chosen, source, ogc_base(request))


@router.get(
    "/collections/{collection_id}/tiles/{tms}/{tile_matrix}/{tile_row}/{tile_col}",
    summary="One vector tile (row from the top, column from the west)",
    response_class=Response,
    responses={200: {"content": {MVT: {}}}, 304: {}, 400: {}, 404: {}},
    openapi_extra={"parameters": tile_parameters(OGC_TILE_NAMES)},
)
async def ogc_tile(collection_id: str, tms: str, request: Request) -> Response:
    check_parameters(request.query_params, {"f", "indicators", "period"})
    _known_tms(tms)
    asked = TileQuery.of(request, OGC_TILE_NAMES)
    return await run_in_threadpool(serve_tile, request, collection_id, asked)


@router.get(
    "/collections/{collection_id}/styles/default",
    summary="Default style of a collection's tiles (MapLibre)",
    response_class=JSONResponse,
    responses={200: {"content": {STYLE: {}}}, 404: {}},
)
def default_style(
    collection_id: str,
    request: Request,
    indicators: str | None = _INDICATORS,
    period: date | None = _PERIOD,
    sources: CollectionSources = Depends(get_sources),
) -> JSONResponse:
    check_parameters(request.query_params, {"f", "indicators", "period"})
    chosen = sources.collection(collection_id)
    return style_response(request, sources, chosen, sources.indicators(indicators, chosen), period)
