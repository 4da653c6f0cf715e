"""Vector tiles of the collections as clients find them: the WebMercatorQuad tile matrix set
(OGC 2D TMS), a collection's tileset metadata (OGC API – Tiles), TileJSON for MapLibre,
``metadata.json`` for GDAL's MVT driver, a MapLibre style per layer with the choropleth classes
and legend colours (a tile itself is answered by ``web.tile_serving``)."""

from __future__ import annotations

import json
from datetime import date

from fastapi import Request
from fastapi.responses import JSONResponse

from layers.choropleth import build_choropleth
from layers.classify import NO_DATA_COLOUR, Classification
from layers.facilities import facility_categories
from spatial.features import FeatureSource
from web.collections import Collection, CollectionSources
from web.ogc import CRS84, BadOgcRequest

MVT = "application/vnd.mapbox-vector-tile"
STYLE = "application/vnd.mapbox.style+json"
MAX_ZOOM = 22
TMS_ID = "WebMercatorQuad"
TMS_URI = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
MERCATOR = "http://www.opengis.net/def/crs/EPSG/0/3857"
TILESETS_REL = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
_ORIGIN = 20_037_508.342789244
_CELL_Z0 = 2 * _ORIGIN / 256  # metres per pixel of the 256-pixel tile of zoom 0
_KINDS = {"int": "Number", "float": "Number", "bool": "Boolean"}
# the map page's colours of the facility categories, in the categories' order
CATEGORY_COLOURS = ("#e6550d", "#31a354", "#756bb1", "#3182bd", "#de2d26", "#636363")
PROJECT_COLOUR = "#c51b8a"


def tile_matrix_set() -> dict:
    """The WebMercatorQuad tile matrix set (OGC 2D TMS 2.0, zooms 0 … MAX_ZOOM)."""
    matrices = []
    for z in range(MAX_ZOOM + 1):
        cell = _CELL_Z0 / 2**z
        matrices.append(
            {
                "id": str(z),
                "scaleDenominator": cell / 0.00028,
                "cellSize": cell,
                "cornerOfOrigin": "topLeft",
                "pointOfOrigin": [-_ORIGIN, _ORIGIN],
                "tileWidth": 256,
                "tileHeight": 256,
                "matrixWidth": 2**z,
                "matrixHeight": 2**z,
            }
        )
    return {
        "id": TMS_ID,
        "title": "Google Maps Compatible for the World",
        "uri": TMS_URI,
        "crs": MERCATOR,
        "orderedAxes": ["E", "N"],
        "wellKnownScaleSet": "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible",
        "tileMatrices": matrices,
    }


def check_tile(z: int, x: int, y: int) -> None:
    if x >= 2**z or y >= 2**z:
        raise BadOgcRequest(f"tile {z}/{x}/{y} does not exist: x and y must be below {2**z}")


def _bounds(source: FeatureSource) -> tuple[float, float, float, float]:
    return source.extent or (-180.0, -85.0, 180.0, 85.0)


def tile_fields(source: FeatureSource) -> dict[str, str]:
    """The properties a tile of the source carries, as TileJSON names their kinds."""
    fields = {f.name: _KINDS.get(f.kind, "String") for f in source.fields}
    if source.geometry_type == "Point":
        fields["point_count"] = "Number"  # set where dense points are thinned
    return fields


def tilejson(chosen: Collection, source: FeatureSource, tiles_url: str) -> dict:
    """TileJSON 3.0 of a layer (``tiles_url`` the {z}/{x}/{y} template)."""
    west, south, east, north = _bounds(source)
    return {
        "tilejson": "3.0.0",
        "name": chosen.title,
        "description": chosen.description,
        "attribution": source.attribution_text(),
        "scheme": "xyz",
        "tiles": [tiles_url],
        "minzoom": 0,
        "maxzoom": MAX_ZOOM,
        "bounds": [west, south, east, north],
        "center": [(west + east) / 2, (south + north) / 2, 11],
        "vector_layers": [
            {"id": chosen.id, "description": source.title, "fields": tile_fields(source)}
        ],
    }


def gdal_metadata(chosen: Collection, source: FeatureSource, maxzoom: int) -> dict:
    """``metadata.json`` as tile directories carry it (what GDAL's MVT driver reads to open a
    whole tileset: the layers and their fields sit in the ``json`` member as text)."""
    west, south, east, north = _bounds(source)
    layers = {
        "vector_layers": [
            {
                "id": chosen.id,
                "description": source.title,
                "minzoom": 0,
                "maxzoom": maxzoom,
                "fields": tile_fields(source),
            }
        ]
    }
    return {
        "name": chosen.id,
        "description": chosen.title,
        "attribution": source.attribution_text(),
        "format": "pbf",
        "type": "overlay",
        "minzoom": "0",
        "maxzoom": str(maxzoom),
        "bounds": f"{west},{south},{east},{north}",
        "center": f"{(west + east) / 2},{(south + north) / 2},{min(11, maxzoom)}",
        "json": json.dumps(layers, ensure_ascii=False),
    }


def tileset_document(chosen: Collection, source: FeatureSource, base: str) -> dict:
    """OGC API – Tiles tileset metadata of a collection in WebMercatorQuad."""
    url = f"{base}/collections/{chosen.id}/tiles/{TMS_ID}"
    west, south, east, north = _bounds(source)
    geometry = {"Point": "points", "MultiPolygon": "polygons"}.get(source.geometry_type)
    return {
        "title": chosen.title,
        "description": source.title,
        "dataType": "vector",
        "crs": MERCATOR,
        "tileMatrixSetURI": TMS_URI,
        "boundingBox": {"lowerLeft": [west, south], "upperRight": [east, north], "crs": CRS84},
        "layers": [
            {
                "id": chosen.id,
                "dataType": "vector",
                "title": source.title,
                "minTileMatrix": "0",
                "maxTileMatrix": str(MAX_ZOOM),
                **({"geometryDimension": 0 if geometry == "points" else 2} if geometry else {}),
                "propertiesSchema": {
                    "type": "object",
                    "properties": {
                        name: {"type": kind.lower()} for name, kind in tile_fields(source).items()
                    },
                },
            }
        ],
        "style": {
            "id": "default",
            "title": "Standard",
            "links": [
                {
                    "href": f"{base}/collections/{chosen.id}/styles/default",
                    "rel": "stylesheet",
                    "type": STYLE,
                }
            ],
        },
        "links": [
            {"href": url, "rel": "self", "type": "application/json"},
            {
                "href": f"{base}/tileMatrixSets/{TMS_ID}",
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme",
                "type": "application/json",
            },
            {"href": f"{base}/collections/{chosen.id}", "rel": "collection"},
            {
                "href": url + "/{tileMatrix}/{tileRow}/{tileCol}",
                "rel": "item",
                "type": MVT,
                "templated": True,
            },
        ],
    }


def class_filters(classification: Classification, key: str, i: int) -> list[list]:
    """The value tests of class ``i`` as the server classifies: a value belongs to the first
    class whose upper break it does not exceed (or stays below, where the break is
    exclusive); the last class takes what is above."""
    breaks, exclusive = classification.breaks, classification.exclusive
    tests = []
    if i > 0:
        tests.append([">=" if exclusive[i - 1] else ">", ["get", key], breaks[i - 1]])
    if i + 1 < len(classification.classes):
        tests.append(["<" if exclusive[i] else "<=", ["get", key], breaks[i]])
    return tests


def layer_style(
    sources: CollectionSources,
    chosen: Collection,
    source: FeatureSource,
    tilejson_url: str,
    indicators: list[str],
    period: date | None,
) -> dict:
    """A MapLibre style of one layer. Regions: the first indicator's choropleth, one fill
    layer per legend class (filters on the value, so clients without ``step`` expressions,
    such as QGIS, draw the same classes) and one for the regions without a shown value.
    Points: circles in the category's colour."""
    layers: list[dict] = []
    common = {"source": chosen.id, "source-layer": chosen.id}
    if chosen.kind == "regions" and indicators and indicators[0] in _names(source):
        key = indicators[0]
        choropleth = build_choropleth(
            sources.conn, sources.cache, chosen.system, chosen.level, key, period
        )
        classes = choropleth.classification.classes
        for i, c in enumerate(classes):
            tests = class_filters(choropleth.classification, key, i) or [["has", key]]
            layers.append(
                {
                    "id": f"{chosen.id}-class-{i + 1}",
                    "type": "fill",
                    **common,
                    "filter": ["all", ["has", key], *tests],
                    "paint": {
                        "fill-color": c.colour,
                        "fill-opacity": 0.8,
                        "fill-outline-color": "#ffffff",
                    },
                    "metadata": {"legend": c.label},
                }
            )
        layers.insert(
            0,
            {
                "id": f"{chosen.id}-no-value",
                "type": "fill",
                **common,
                "filter": ["!has", key],
                "paint": {"fill-color": NO_DATA_COLOUR, "fill-opacity": 0.8},
                "metadata": {"legend": "keine Daten oder unterdrückt"},
            },
        )
    elif chosen.kind == "regions":
        layers.append(
            {
                "id": f"{chosen.id}-outline",
                "type": "line",
                **common,
                "paint": {"line-color": "#252525", "line-width": 1.5},
            }
        )
    else:
        layers.append(
            {
                "id": f"{chosen.id}-points",
                "type": "circle",
                **common,
                "paint": {
                    "circle-color": _point_colour(sources, chosen),
                    "circle-radius": 5,
                    "circle-stroke-color": "#ffffff",
                    "circle-stroke-width": 1,
                },
            }
        )
    return {
        "version": 8,
        "name": source.title,
        "sources": {chosen.id: {"type": "vector", "url": tilejson_url}},
        "layers": layers,
    }


def style_response(
    request: Request,
    sources: CollectionSources,
    chosen: Collection,
    indicators: list[str],
    period: date | None,
) -> JSONResponse:
    """The layer's style as served, its source the layer's TileJSON with the same query."""
    query = f"?{request.url.query}" if request.url.query else ""
    url = f"{str(request.base_url).rstrip('/')}/tiles/{chosen.id}.json{query}"
    source = sources.source(chosen, indicators, period)
    document = layer_style(sources, chosen, source, url, indicators, period)
    return JSONResponse(document, media_type=STYLE)


def _names(source: FeatureSource) -> set[str]:
    return {f.name for f in source.fields}


def _point_colour(sources: CollectionSources, chosen: Collection) -> str:
    if chosen.kind != "facilities":
        return PROJECT_COLOUR
    keys = [c["key"] for c in facility_categories(sources.conn)]
    index = keys.index(chosen.category) if chosen.category in keys else len(keys)
    return CATEGORY_COLOURS[index % len(CATEGORY_COLOURS)]
