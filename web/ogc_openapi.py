"""The OpenAPI 3.0 definition of the OGC API (``/ogc/api``, the landing page's
``service-desc``): every path with typed parameters, the ``limit`` default and maximum, and for
each collection its items path with one query parameter per property. Clients read it to page
(GDAL and QGIS take the page size from ``limit``) and to filter on the server (QGIS turns
``"name" = 'x'`` into ``name=x`` where the items path declares the parameter)."""

from __future__ import annotations

from web.collections import Collection, CollectionSources, list_collections
from web.ogc import JSON_TYPES
from web.settings import WebSettings

OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
_GEOJSON = "application/geo+json"
_OBJECT = {"type": "object"}


def _query(name: str, description: str, schema: dict, **extra) -> dict:
    return {
        "name": name,
        "in": "query",
        "description": description,
        "required": False,
        "style": "form",
        "explode": False,
        "schema": schema,
        **extra,
    }


def _parameters(settings: WebSettings, collection_ids: list[str]) -> dict:
    text = {"type": "string"}
    return {
        "limit": _query(
            "limit",
            "Features per page (capped at the maximum).",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": settings.ogc_max_page,
                "default": settings.ogc_page_size,
            },
        ),
        "offset": _query(
            "offset", "Features to skip.", {"type": "integer", "minimum": 0, "default": 0}
        ),
        "bbox": _query(
            "bbox",
            "minx,miny,maxx,maxy (or 6 numbers with heights) in bbox-crs.",
            {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}},
        ),
        "bbox-crs": _query("bbox-crs", "CRS of bbox (a URI).", {"type": "string", "format": "uri"}),
        "crs": _query("crs", "CRS of the response (a URI).", {"type": "string", "format": "uri"}),
        "datetime": _query("datetime", "An instant or an interval (RFC 3339, `..` open).", text),
        "filter": _query("filter", "A CQL2 filter.", text),
        "filter-lang": _query(
            "filter-lang",
            "Language of filter.",
            {"type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text"},
        ),
        "filter-crs": _query("filter-crs", "CRS of the filter's geometries (a URI).", text),
        "sortby": _query(
            "sortby",
            "Properties to order by, `-` for descending.",
            {"type": "array", "items": {"type": "string"}},
        ),
        "properties": _query(
            "properties",
            "The properties to return.",
            {"type": "array", "items": {"type": "string"}},
        ),
        "indicators": _query(
            "indicators",
            "Indicator keys region collections carry.",
            {"type": "array", "items": {"type": "string"}},
        ),
        "f": _query("f", "Format of the response.", {"type": "string", "enum": ["json", "html"]}),
        "collectionId": {
            "name": "collectionId",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": collection_ids},
        },
        "featureId": {"name": "featureId", "in": "path", "required": True, "schema": text},
    }


def _refs(*names: str) -> list[dict]:
    return [{"$ref": f"#/components/parameters/{n}"} for n in names]


def _answer(description: str, media: str = "application/json") -> dict:
    return {
        "200": {"description": description, "content": {media: {"schema": _OBJECT}}},
        "400": {"description": "A parameter the service cannot answer as asked."},
        "404": {"description": "No such collection or feature."},
    }


def _get(summary: str, parameters: list[dict], responses: dict, op: str) -> dict:
    return {"get": {"summary": summary, "operationId": op, "parameters": parameters,
                    "responses": responses}}  # fmt: skip


_ITEMS = ("f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "indicators", "filter",
          "filter-lang", "filter-crs", "sortby", "properties")  # fmt: skip


def _collection_paths(sources: CollectionSources, collection: Collection) -> dict:
    source = sources.source(collection, sources.indicators(None, collection))
    own = [
        _query(f.name, f"Only features whose {f.name} equals this.", dict(JSON_TYPES[f.kind]))
        for f in source.fields
    ]
    url = f"/collections/{collection.id}"
    key = collection.id.replace("-", "_")
    return {
        url: _get(collection.title, _refs("f", "indicators"), _answer("The collection"),
                  f"describe_{key}"),
        f"{url}/items": _get(
            f"Features of {collection.title}",
            _refs(*_ITEMS) + own,
            _answer("A page of features", _GEOJSON),
            f"items_{key}",
        ),
        f"{url}/items/{{featureId}}": _get(
            f"One feature of {collection.title}",
            _refs("featureId", "f", "crs", "indicators"),
            _answer("The feature", _GEOJSON),
            f"item_{key}",
        ),
        f"{url}/queryables": _get(
            f"Queryables of {collection.title}",
            _refs("f", "indicators"),
            _answer("JSON Schema of the properties", "application/schema+json"),
            f"queryables_{key}",
        ),
    }  # fmt: skip


def openapi_document(sources: CollectionSources, base: str) -> dict:
    """The OpenAPI 3.0 document of the OGC API at ``base`` (the ``/ogc`` URL)."""
    settings = sources.settings
    collections = list_collections(sources.conn, sources.cache)
    paths: dict = {
        "/": _get("Landing page", _refs("f"), _answer("The landing page"), "landing"),
        "/conformance": _get(
            "Conformance classes", _refs("f"), _answer("The classes"), "conformance"
        ),
        "/collections": _get("Every collection", _refs("f"), _answer("Collections"), "list"),
        "/tileMatrixSets": _get("Tile matrix sets", _refs("f"), _answer("Sets"), "tms_list"),
        "/collections/{collectionId}/tiles": _get(
            "Vector tilesets", _refs("collectionId", "f"), _answer("Tilesets"), "tilesets"
        ),
        "/collections/{collectionId}/styles/default": _get(
            "MapLibre style",
            _refs("collectionId", "indicators"),
            _answer("The style", "application/vnd.mapbox.style+json"),
            "style",
        ),
    }
    for collection in collections:
        paths.update(_collection_paths(sources, collection))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": f"{settings.title} – OGC API",
            "version": "1.0.0",
            "description": "Regions with indicator values, facilities and public projects: "
            "OGC API Features (Parts 1–3) and Tiles.",
            "contact": {"name": settings.title},
            "license": {"name": "Data: see each collection's attribution"},
        },
        "servers": [{"url": base}],
        "paths": paths,
        "components": {
            "parameters": _parameters(settings, [c.id for c in collections]),
        },
    }
