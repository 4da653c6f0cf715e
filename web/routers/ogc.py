"""OGC API – Features (Part 1 Core with GeoJSON, Part 2 CRS by reference) under ``/ogc``: the
landing page, conformance, collections, pages of items with ``next`` links, and single items,
in CRS84 or the storage CRS. QGIS, GDAL and OWSLib connect here directly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from layers.errors import NotFound
from spatial.features import FeatureQuery, FeatureSource, geojson_features, one_feature
from spatial.filters import parse_filter
from spatial.licences import licences_of
from web.collections import (
    Collection,
    CollectionSources,
    collection_summaries,
    collection_summary,
    get_sources,
    list_collections,
    region_periods,
)
from web.deps import get_settings
from web.ogc import (
    CONFORMANCE,
    CRS84,
    JSON,
    BadOgcRequest,
    ItemRequest,
    check_parameters,
    crs_list,
    crs_uri,
    feature_query,
    feature_schema,
    ogc_base,
    parse_bbox,
    parse_crs,
    parse_datetime,
    queryables,
)
from web.ogc_html import html_page, negotiates_html
from web.ogc_openapi import OPENAPI, openapi_document
from web.settings import WebSettings
from web.tilesets import STYLE, TILESETS_REL

router = APIRouter(prefix="/ogc", tags=["OGC API Features"])
GEOJSON = "application/geo+json"
SCHEMA = "application/schema+json"


def _check_format(f: str | None) -> None:
    if f not in (None, "json", "geojson", "html"):
        raise BadOgcRequest(f"format {f!r} is not offered; use f=json or f=html")


def _collection_document(
    collection: Collection,
    source: FeatureSource | None,
    base: str,
    srid: int,
    periods: list,
    offered: list[int],
    extent: tuple[float, ...] | None = None,
) -> dict:
    url = f"{base}/collections/{collection.id}"
    if source is not None and source.extent:
        extent = source.extent
    extent = extent or (-180, -90, 180, 90)
    doc: dict = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description,
        "itemType": "feature",
        "crs": crs_list(offered),
        "storageCrs": crs_uri(srid),
        "extent": {"spatial": {"bbox": [list(extent)], "crs": CRS84}},
        "links": [
            {"href": url, "rel": "self", "type": JSON, "title": collection.title},
            {"href": f"{url}/items", "rel": "items", "type": GEOJSON, "title": "Features"},
            {
                "href": f"{url}/queryables",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/queryables",
                "type": SCHEMA,
                "title": "Abfragbare Eigenschaften",
            },
            # GDAL before 3.7 looks for "describedBy" (relation types compare case-blind)
            *(
                {"href": f"{url}/schema", "rel": rel, "type": SCHEMA, "title": "Schema"}
                for rel in ("describedby", "describedBy")
            ),
            {"href": f"{url}/tiles", "rel": TILESETS_REL, "type": JSON, "title": "Vektorkacheln"},
            {
                "href": f"{url}/styles/default",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/styles",
                "type": STYLE,
                "title": "Standardstil (MapLibre)",
            },
        ],
    }
    if periods:
        doc["extent"]["temporal"] = {
            "interval": [[f"{periods[0]:%Y-%m-%d}T00:00:00Z", f"{periods[-1]:%Y-%m-%d}T00:00:00Z"]]
        }
    if source is not None:
        doc["attribution"] = source.attribution_text()
        doc["properties"] = {f.name: {"type": f.kind, "title": f.title} for f in source.fields}
    return doc


@router.get("", summary="Landing page")
def landing(request: Request, f: str | None = None, settings: WebSettings = Depends(get_settings)):
    check_parameters(request.query_params, {"f"})
    _check_format(f)
    base = ogc_base(request)
    root = str(request.base_url).rstrip("/")
    doc = {
        "title": f"{settings.title} – OGC API Features und Tiles",
        "description": "Regions with indicator values, facilities and public projects.",
        "links": [
            {"href": base, "rel": "self", "type": JSON, "title": "This document"},
            {
                "href": f"{base}/api",
                "rel": "service-desc",
                "type": OPENAPI,
                "title": "The API definition",
            },
            {"href": f"{root}/docs", "rel": "service-doc", "type": "text/html"},
            {"href": f"{base}/conformance", "rel": "conformance", "type": JSON},
            {"href": f"{base}/collections", "rel": "data", "type": JSON},
            {
                "href": f"{base}/tileMatrixSets",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes",
                "type": JSON,
                "title": "Kachelschemata",
            },
        ],
    }
    if negotiates_html(request, f):
        return html_page(
            request,
            doc,
            description="Gebiete mit Indikatorwerten, Einrichtungen und "
            "veröffentlichte Projekte als OGC API Features und Tiles.",
        )
    return doc


@router.get(
    "/api",
    summary="The OpenAPI 3.0 definition of this API",
    response_class=Response,
    responses={200: {"content": {OPENAPI: {}}}},
)
def api_definition(
    request: Request, f: str | None = None, sources: CollectionSources = Depends(get_sources)
) -> Response:
    check_parameters(request.query_params, {"f"})
    _check_format(f)
    base = ogc_base(request)

    def encoded() -> bytes:
        return json.dumps(openapi_document(sources, base), ensure_ascii=False).encode()

    # built once per data version and address: it describes every collection's properties
    body = sources.cache.get_or_compute(sources.conn, ("ogc-openapi", base), encoded)
    return Response(body, media_type=OPENAPI)


@router.get("/conformance", summary="Conformance classes")
def conformance(request: Request, f: str | None = None) -> dict:
    check_parameters(request.query_params, {"f"})
    _check_format(f)
    doc = {"conformsTo": CONFORMANCE}
    return html_page(request, doc, "Konformitätsklassen") if negotiates_html(request, f) else doc


@router.get("/collections", summary="Every collection")
def collections(
    request: Request, f: str | None = None, sources: CollectionSources = Depends(get_sources)
) -> dict:
    check_parameters(request.query_params, {"f"})
    _check_format(f)
    base = ogc_base(request)
    offered = sources.offered()
    summaries = collection_summaries(sources.conn, sources.cache)
    offered_collections = list_collections(sources.conn, sources.cache)
    doc = {
        "title": "Sammlungen",
        "links": [{"href": f"{base}/collections", "rel": "self", "type": JSON}],
        "crs": crs_list(offered),
        "collections": [
            _collection_document(
                c,
                None,
                base,
                sources.storage_srid,
                [],
                sources.offered(c),
                summaries[c.id].extent if c.id in summaries else None,
            )
            for c in offered_collections
        ],
    }
    if negotiates_html(request, f):
        return html_page(
            request, doc, descriptions={c.id: c.description_de for c in offered_collections}
        )
    return doc


@router.get("/collections/{collection_id}", summary="One collection", responses={404: {}})
def collection(
    collection_id: str,
    request: Request,
    f: str | None = None,
    indicators: str | None = Query(None, description="Indicator keys of region collections"),
    sources: CollectionSources = Depends(get_sources),
) -> dict:
    check_parameters(request.query_params, {"f", "indicators"})
    _check_format(f)
    chosen = sources.collection(collection_id)
    keys = sources.indicators(indicators, chosen)
    source = sources.source(chosen, keys)
    periods = region_periods(sources.conn, sources.cache, chosen, keys)
    offered = sources.offered(chosen)
    doc = _collection_document(chosen, source, ogc_base(request), source.srid, periods, offered)
    doc["links"] += [
        {"href": licence.url, "rel": "license", "type": "text/html", "title": licence.title}
        for licence in licences_of(source.attributions, sources.licences)
    ]
    if negotiates_html(request, f):
        return html_page(request, doc, description=chosen.description_de)
    return doc


@router.get(
    "/collections/{collection_id}/items",
    summary="Features of a collection, a page at a time",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 400: {}, 404: {}},
)
def items(
    collection_id: str,
    request: Request,
    f: str | None = None,
    limit: int | None = Query(None, ge=1, description="Features per page"),
    offset: int = Query(0, ge=0, le=10_000_000),
    bbox: str | None = Query(None, description="minx,miny,maxx,maxy in `bbox-crs`"),
    bbox_crs: str | None = Query(None, alias="bbox-crs"),
    crs: str | None = Query(None, description="CRS of the response"),
    datetime_: str | None = Query(None, alias="datetime", description="Instant or interval"),
    indicators: str | None = Query(None, description="Indicator keys of region collections"),
    filter_: str | None = Query(None, alias="filter", description="CQL2 filter"),
    filter_lang: str | None = Query(None, alias="filter-lang", description="cql2-text, cql2-json"),
    filter_crs: str | None = Query(None, alias="filter-crs", description="CRS of its geometries"),
    sortby: str | None = Query(None, description="Properties, `-` for descending: -capacity,name"),
    properties: str | None = Query(None, description="The properties to return: name,code"),
    sources: CollectionSources = Depends(get_sources),
) -> Response:
    _check_format(f)
    settings = sources.settings
    chosen = sources.collection(collection_id)
    if limit is not None and limit > settings.ogc_max_page:
        raise BadOgcRequest(f"limit {limit} is over the maximum of {settings.ogc_max_page}")
    page = limit or settings.ogc_page_size
    offered = sources.offered(chosen)
    out_srid = parse_crs(crs, offered)
    bbox_srid = parse_crs(bbox_crs, offered, "bbox-crs")
    box = parse_bbox(bbox, bbox_srid)
    start, end = parse_datetime(datetime_)
    tree = parse_filter(filter_, filter_lang) if filter_ is not None else None
    filter_srid = parse_crs(filter_crs, offered, "filter-crs")
    period = end if chosen.kind == "regions" else None
    source = sources.source(chosen, sources.indicators(indicators, chosen), period)
    asked = ItemRequest(box, bbox_srid, start, end, tree, filter_srid, sortby, properties)
    query = feature_query(dict(request.query_params), source, asked, page, offset)
    digits = settings.coordinate_decimals + 1 if out_srid == 4326 else 2
    features, returned, more = geojson_features(sources.conn, source, query, out_srid, digits)
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": f"{ogc_base(request)}/collections/{chosen.id}", "rel": "collection", "type": JSON},
    ]
    if more:
        following = request.url.include_query_params(offset=offset + page, limit=page)
        links.append({"href": str(following), "rel": "next", "type": GEOJSON})
    if offset > 0:
        before = request.url.include_query_params(offset=max(0, offset - page), limit=page)
        links.append({"href": str(before), "rel": "prev", "type": GEOJSON})
    head = {
        "type": "FeatureCollection",
        "timeStamp": datetime.now(UTC).isoformat(timespec="seconds"),
        **_matched(sources, chosen, query),
        "numberReturned": returned,
        "links": links,
        "attribution": source.attribution_text(),
    }
    body = json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [' + features + "]}"
    if negotiates_html(request, f):
        return html_page(request, json.loads(body), f"{chosen.title}: Objekte")
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs_uri(out_srid)}>"})


def _matched(sources: CollectionSources, chosen: Collection, query: FeatureQuery) -> dict:
    """``numberMatched`` where it costs nothing: an unfiltered collection's stored count."""
    if query.narrows:
        return {}
    return {"numberMatched": collection_summary(sources.conn, sources.cache, chosen).count}


def _schema_route(name: str, summary: str, build) -> None:
    """A JSON Schema document of each collection at ``/collections/{id}/<name>``."""

    def schema_document(
        collection_id: str,
        request: Request,
        f: str | None = None,
        indicators: str | None = Query(None, description="Indicator keys of region collections"),
        sources: CollectionSources = Depends(get_sources),
    ) -> Response:
        check_parameters(request.query_params, {"f", "indicators"})
        _check_format(f)
        chosen = sources.collection(collection_id)
        source = sources.source(chosen, sources.indicators(indicators, chosen))
        url = f"{ogc_base(request)}/collections/{chosen.id}/{name}"
        return Response(json.dumps(build(source, url), ensure_ascii=False), media_type=SCHEMA)

    router.get(
        f"/collections/{{collection_id}}/{name}",
        summary=summary,
        responses={200: {"content": {SCHEMA: {}}}, 404: {}},
        name=f"collection_{name}",
    )(schema_document)


_schema_route(
    "queryables",
    "The properties filters, sortby and properties may name (JSON Schema)",
    queryables,
)
_schema_route("schema", "JSON Schema of a feature of the collection", feature_schema)


@router.get(
    "/collections/{collection_id}/items/{feature_id}",
    summary="One feature",
    response_class=Response,
    responses={200: {"content": {GEOJSON: {}}}, 404: {}},
)
def item(
    collection_id: str,
    feature_id: str,
    request: Request,
    f: str | None = None,
    crs: str | None = None,
    indicators: str | None = None,
    sources: CollectionSources = Depends(get_sources),
) -> Response:
    _check_format(f)
    check_parameters(request.query_params, {"f", "crs", "indicators"})
    chosen = sources.collection(collection_id)
    out_srid = parse_crs(crs, sources.offered(chosen))
    source = sources.source(chosen, sources.indicators(indicators, chosen))
    digits = sources.settings.coordinate_decimals + 1 if out_srid == 4326 else 2
    body = one_feature(sources.conn, source, feature_id, out_srid, digits)
    if body is None:
        raise NotFound(f"no feature {feature_id!r} in {collection_id}")
    links = [
        {"href": str(request.url), "rel": "self", "type": GEOJSON},
        {"href": f"{ogc_base(request)}/collections/{chosen.id}", "rel": "collection", "type": JSON},
    ]
    body = body[:-1] + ', "links": ' + json.dumps(links) + "}"
    return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{crs_uri(out_srid)}>"})
