"""OGC API – Features vocabulary of the platform: which collections exist (every region level,
facilities per category, public projects), how a collection id becomes a feature source, and
the parameters of Part 1 (bbox, datetime, limit) and Part 2 (crs, bbox-crs) parsed into a
``FeatureQuery`` — with a 400 and a clear message for anything the service does not offer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.cache import LayerCache
from layers.choropleth import cached_indicator, periods_of
from layers.errors import NotComputable, NotFound
from layers.facilities import facility_categories
from layers.levels import get_level
from layers.sources import facility_source, known_region_layers, region_source
from records.queries import ProjectFilter, project_source
from spatial.cities import Cities
from spatial.errors import SozialraumError
from spatial.features import (
    Attribution,
    FeatureQuery,
    FeatureSource,
    parse_sortby,
    storage_srid,
)
from spatial.filters import compile_filter
from web.deps import map_defaults
from web.params import parse_keys
from web.settings import WebSettings

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
EPSG_URI = "http://www.opengis.net/def/crs/EPSG/0/{}"
_FEATURES = "http://www.opengis.net/spec/ogcapi-features-{}/1.0/conf/{}"
_CQL2 = "http://www.opengis.net/spec/cql2/1.0/conf/{}"
CONFORMANCE = [
    *(_FEATURES.format(1, c) for c in ("core", "geojson", "oas30")),
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
]
# what every items request may carry besides the collection's properties
ITEM_PARAMETERS = frozenset(
    {
        "f", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "indicators",
        "filter", "filter-lang", "filter-crs", "sortby", "properties",
    }
)  # fmt: skip


class BadOgcRequest(SozialraumError):
    """A request the service cannot answer as asked (HTTP 400)."""


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    kind: str  # regions, facilities, projects
    system: str | None = None
    level: str | None = None
    category: str | None = None

    @property
    def follows_ingest(self) -> bool:
        """Whether the store's data version covers it (projects change with every edit,
        without an ingest run, so results of theirs must not be kept)."""
        return self.kind != "projects"


def list_collections(conn: Connection, cache: LayerCache) -> list[Collection]:
    """Every collection the service offers, in a stable order (through the cache)."""

    def compute() -> list[Collection]:
        found = [
            Collection(
                f"{system}-{level}",
                f"{name} ({system})",
                f"{name} of {system} with indicator values of a period as properties",
                "regions",
                system=system,
                level=level,
            )
            for system, level, name in known_region_layers(conn)
        ]
        found += [
            Collection(
                f"facilities-{c['key']}",
                c["plural_de"],
                f"{c['label_en']} facilities (points)",
                "facilities",
                category=c["key"],
            )
            for c in facility_categories(conn, only_with_facilities=True)
        ]
        found.append(Collection("projects", "Projekte", "Public projects", "projects"))
        return found

    return cache.get_or_compute(conn, ("ogc-collections",), compute)


# the box of the stored geometry, transformed: as a collection's own document computes it
_WGS84_BOX = "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, min(ST_SRID(geom))), 4326)::box2d"
_SUMMARY = "ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e), x.n"
_SUMMARIES = text(
    f"""
    SELECT s.key || '-' || l.key AS id, {_SUMMARY}
    FROM (SELECT level_id, {_WGS84_BOX} AS e, count(*) AS n FROM regions GROUP BY level_id) x
    JOIN region_levels l ON l.id = x.level_id JOIN region_systems s ON s.id = l.system_id
    UNION ALL
    SELECT 'facilities-' || x.category, {_SUMMARY}
    FROM (SELECT category, {_WGS84_BOX} AS e, count(*) AS n FROM facilities GROUP BY category) x
    """
)
_PROJECTS_SUMMARY = text(
    f"SELECT {_SUMMARY} FROM (SELECT {_WGS84_BOX} AS e, count(*) AS n "
    "FROM projects WHERE public AND deleted_at IS NULL) x"
)


@dataclass(frozen=True)
class Summary:
    extent: tuple[float, float, float, float] | None  # WGS 84; None when empty
    count: int


def collection_summaries(conn: Connection, cache: LayerCache) -> dict[str, Summary]:
    """WGS 84 bounds and feature counts of every collection in one pass (regions and
    facilities through the cache; the public projects, which change without a data version,
    read each time). The counts are what ``numberMatched`` says of an unfiltered page."""

    def compute() -> dict[str, Summary]:
        return {
            row[0]: Summary(tuple(row[1:5]) if row[1] is not None else None, int(row[5]))
            for row in conn.execute(_SUMMARIES)
        }

    found = dict(cache.get_or_compute(conn, ("ogc-summaries",), compute))
    projects = conn.execute(_PROJECTS_SUMMARY).one()
    found["projects"] = Summary(tuple(projects[:4]) if projects[0] is not None else None,
                                int(projects[4]))  # fmt: skip
    return found


def get_collection(conn: Connection, cache: LayerCache, collection_id: str) -> Collection:
    for collection in list_collections(conn, cache):
        if collection.id == collection_id:
            return collection
    raise NotFound(f"unknown collection {collection_id!r}; see /ogc/collections")


def collection_source(
    conn: Connection,
    cache: LayerCache,
    collection: Collection,
    indicators: list[str],
    period: date | None,
    records: Attribution,
) -> FeatureSource:
    """The feature source behind a collection (region collections with the indicators at the
    period), built once per data version."""

    def compute() -> FeatureSource:
        if collection.kind == "regions":
            return region_source(
                conn,
                cache,
                collection.system,
                collection.level,
                indicators,
                period,
                skip_unavailable=True,
            )
        if collection.kind == "facilities":
            return facility_source(conn, collection.category)
        return project_source(conn, ProjectFilter(public_only=True), records)

    key = ("ogc-source", collection.id, tuple(indicators), period)
    if not collection.follows_ingest:
        return compute()
    return cache.get_or_compute(conn, key, compute)


def region_periods(
    conn: Connection, cache: LayerCache, collection: Collection, indicators: list[str]
) -> list[date]:
    """Periods of the collection's first indicator (its temporal extent)."""
    if collection.kind != "regions" or not indicators:
        return []
    level = get_level(conn, collection.system, collection.level)
    try:
        return periods_of(conn, cached_indicator(conn, cache, indicators[0]), level, cache)
    except NotComputable:
        return []


def service_indicators(
    raw: str | None, settings: WebSettings, cities: Cities, collection: Collection
) -> list[str]:
    """``indicators=a,b`` of region collections and tiles, else those its city's pack (or a
    setting) names."""
    if raw is not None:
        return parse_keys(raw)
    if collection.kind != "regions":
        return []
    return list(map_defaults(settings, cities.of_system(collection.system)).service_indicators)


def offered_srids(storage_srid: int, cities: Cities, system: str | None = None) -> list[int]:
    """CRS84, the storage CRS and the official CRS of the collection's city (of every city
    for the list of all collections)."""
    packs = [cities.of_system(system)] if system else cities.packs
    return list(dict.fromkeys([4326, storage_srid, *(p.srid for p in packs if p)]))


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
    try:
        if "T" in raw:
            return datetime.fromisoformat(raw.replace("Z", "+00:00")).date()
        return date.fromisoformat(raw)
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
    select = None
    if asked.properties is not None:
        select = tuple(parse_keys(asked.properties))
        for name in select:
            source.field(name)
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
        select=select,
    )


_JSON_TYPES = {
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
        properties[f.name] = {"title": f.title or f.name, **_JSON_TYPES[f.kind]}
    return {
        "$schema": "https://json-schema.org/draft/2019-09/schema",
        "$id": url,
        "type": "object",
        "title": source.title,
        "properties": properties,
        "additionalProperties": False,
    }


def storage_srid_of(conn: Connection, cache: LayerCache) -> int:
    return cache.get_or_compute(conn, ("storage-srid",), lambda: storage_srid(conn))
