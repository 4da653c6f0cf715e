"""OGC API – Features vocabulary of the platform: the conformance classes it claims, the
parameters of Part 1 (bbox, datetime, limit), Part 2 (crs, bbox-crs) and Part 3 (filter,
sortby, properties) parsed into a ``FeatureQuery``, and the queryables of a source — with a
400 and a clear message for anything the service does not offer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from fastapi import Request

from spatial.errors import SozialraumError
from spatial.features import FeatureQuery, FeatureSource, parse_select, parse_sortby
from spatial.filters import compile_filter

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/{}"
CONFORMANCE = [
    *(_FEATURES.format(1, c) for c in ("core", "geojson", "html", "oas30")),
    _FEATURES.format(2, "crs"),
    *(_FEATURES.format(3, c) for c in ("queryables", "queryables-query-parameters")),
    *(_FEATURES.format(3, c) for c in ("filter", "features-filter")),
    *(
        _CQL2.format(c)
        for c in (
            "cql2-text",
            "cql2-json",
            "basic-cql2",
            "advanced-comparison-operators",
            "case-insensitive-comparison",
            "basic-spatial-functions",
            "basic-spatial-functions-plus",
            "spatial-functions",
            "temporal-functions",
            "arithmetic",
            "property-property",
        )
    ),
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    *(
        f"http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/{c}"
        for c in ("core", "tileset", "tilesets-list", "geodata-tilesets", "mvt")
    ),
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
]
# what every items request may carry besides the collection's properties
ITEM_PARAMETERS = frozenset(
    {
        "f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "indicators",
        "filter", "filter-lang", "filter-crs", "sortby", "properties",
    }
)  # fmt: skip


JSON = "application/json"


def ogc_base(request: Request) -> str:
    """The address of the OGC API (landing page) as the request reached it."""
    return str(request.base_url).rstrip("/") + "/ogc"


class BadOgcRequest(SozialraumError):
    """A request the service cannot answer as asked (HTTP 400)."""


def parse_crs(raw: str | None, offered: list[int], what: str = "crs") -> int:
    """A CRS URI → SRID, one of the ``offered`` (CRS84 = 4326, longitude/latitude)."""
    if raw is None or raw.strip("<> ") == CRS84:
        return 4326
    for srid in offered:
        if raw.strip("<> ") == crs_uri(srid):
            return srid
    raise BadOgcRequest(f"{what} {raw!r} is not offered; use {' or '.join(crs_list(offered))}")


def crs_list(offered: list[int]) -> list[str]:
    return [crs_uri(s) for s in offered]


def crs_uri(srid: int) -> str:
    return CRS84 if srid == 4326 else EPSG_URI.format(srid)


def parse_bbox(raw: str | None, srid: int) -> tuple[float, float, float, float] | None:
    if raw is None:
        return None
    try:
        numbers = [float(p) for p in raw.split(",")]
    except ValueError:
        raise BadOgcRequest(f"bbox must be four numbers minx,miny,maxx,maxy, not {raw!r}") from None
    if len(numbers) != 4:
        raise BadOgcRequest(f"bbox needs four numbers (2D), got {len(numbers)}: {raw!r}")
    west, south, east, north = numbers
    if not (west < east and south < north):
        raise BadOgcRequest(f"bbox {raw!r} must have minx < maxx and miny < maxy")
    if srid == 4326 and not (west >= -180 and east <= 180 and south >= -90 and north <= 90):
        raise BadOgcRequest(f"bbox {raw!r} is outside longitude/latitude ranges (CRS84)")
    return west, south, east, north


def _instant(raw: str) -> date | None:
    if raw in ("..", ""):
        return None
    # RFC 3339 has a year 0, Python's dates do not; nothing here is that old (QGIS sends
    # 0000-01-01T00:00:00Z as the start of "before" filters): checked as a leap year, then
    # the earliest date
    year_zero = raw.startswith("0000-")
    checked = "0004" + raw[4:] if year_zero else raw
    try:
        if "T" in checked:
            moment = datetime.fromisoformat(checked.replace("Z", "+00:00")).date()
        else:
            moment = date.fromisoformat(checked)
        return date.min if year_zero else moment
    except ValueError:
        raise BadOgcRequest(
            f"datetime {raw!r} is not RFC 3339 (2024-12-31 or 2024-12-31T00:00:00Z)"
        ) from None


def parse_datetime(raw: str | None) -> tuple[date | None, date | None]:
    """An instant or an interval (``start/end``, open ends as ``..``) → (start, end)."""
    if raw is None:
        return None, None
    if "/" in raw:
        first, _, last = raw.partition("/")
        start, end = _instant(first), _instant(last)
        if start and end and start > end:
            raise BadOgcRequest(f"datetime interval {raw!r} ends before it starts")
        return start, end
    moment = _instant(raw)
    return moment, moment


def check_parameters(given: Iterable[str], allowed: Iterable[str]) -> None:
    """Part 1 answers 400 to a parameter the resource does not know (a typo must not
    silently give every feature)."""
    known = set(allowed)
    unknown = sorted(set(given) - known)
    if unknown:
        raise BadOgcRequest(
            f"unknown parameter {unknown[0]!r}; this resource takes: {', '.join(sorted(known))}"
        )


@dataclass(frozen=True)
class ItemRequest:
    """The parsed parameters of an items request that select and order features."""

    bbox: tuple[float, float, float, float] | None
    bbox_srid: int
    start: date | None
    end: date | None
    filter_tree: dict | bool | None
    filter_srid: int
    sortby: str | None
    properties: str | None


def feature_query(
    params: dict[str, str], source: FeatureSource, asked: ItemRequest, limit: int, offset: int
) -> FeatureQuery:
    """Query parameters that name a property of the source filter by equality; the CQL2
    filter, the order and the chosen properties are checked against the source."""
    check_parameters(params, ITEM_PARAMETERS | {f.name for f in source.fields})
    names = {f.name for f in source.fields}
    properties = {k: v for k, v in params.items() if k in names}
    temporal = source.temporal is not None
    compiled = None
    if asked.filter_tree is not None:
        compiled = compile_filter(asked.filter_tree, source, asked.filter_srid)
    return FeatureQuery(
        bbox=asked.bbox,
        bbox_srid=asked.bbox_srid,
        properties=properties,
        start=asked.start if temporal else None,
        end=asked.end if temporal else None,
        limit=limit,
        offset=offset,
        filter_sql=compiled.sql if compiled else None,
        filter_params=compiled.params if compiled else {},
        sortby=parse_sortby(asked.sortby, source),
        select=parse_select(asked.properties, source),
    )


JSON_TYPES = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "text": {"type": "string"},
    "date": {"type": "string", "format": "date"},
    "bool": {"type": "boolean"},
}
_GEOMETRY_SCHEMAS = {
    "MultiPolygon": "https://geojson.org/schema/MultiPolygon.json",
    "Point": "https://geojson.org/schema/Point.json",
}


def queryables(source: FeatureSource, url: str) -> dict:
    """The source's properties as a JSON Schema (what filters, sortby and properties name)."""
    geometry = _GEOMETRY_SCHEMAS.get(
        source.geometry_type, "https://geojson.org/schema/Geometry.json"
    )
    properties = {
        "geometry": {"title": "Geometrie", "format": f"geometry-{source.geometry_type.lower()}",
                     "$ref": geometry},
    }  # fmt: skip
    for f in source.fields:
        properties[f.name] = {"title": f.title or f.name, **JSON_TYPES[f.kind]}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": source.title,
        "properties": properties,
        "additionalProperties": False,
    }


def feature_schema(source: FeatureSource, url: str) -> dict:
    """JSON Schema of one GeoJSON feature of the source (the collection's ``describedby``):
    GDAL and QGIS take the fields and their types from it, so an all-empty column or an
    empty collection still has them."""
    geometry = _GEOMETRY_SCHEMAS.get(
        source.geometry_type, "https://geojson.org/schema/Geometry.json"
    )
    properties = {f.name: {"title": f.title or f.name, **JSON_TYPES[f.kind]} for f in source.fields}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "title": source.title,
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": "integer" if source.id_kind == "int" else "string"},
            "geometry": {"$ref": geometry},
            "properties": {"type": "object", "properties": properties},
        },
    }
