"""The collections the services offer (every region level, facilities per category, public
projects), their summaries (bounds, counts), and how a collection becomes a feature source —
shared by the OGC API (features and tiles) and the plain vector tiles. ``CollectionSources``
is the request dependency that holds what building a source takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from fastapi import Depends, Request
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
from spatial.features import Attribution, FeatureSource, storage_srid
from spatial.licences import Licence
from web.deps import (
    cache_of,
    cities_of,
    get_connection,
    licences_of,
    map_defaults,
    records_of,
    settings_of,
)
from web.params import parse_keys
from web.settings import WebSettings


@dataclass(frozen=True)
class Collection:
    id: str
    title: str
    description: str
    kind: str  # regions, facilities, projects
    description_de: str = ""  # what the German HTML pages say
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
                f"{name} ({system}) mit den Indikatorwerten eines Zeitraums als Eigenschaften",
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
                f"{c['plural_de']} (Punkte)",
                category=c["key"],
            )
            for c in facility_categories(conn, only_with_facilities=True)
        ]
        found.append(
            Collection(
                "projects", "Projekte", "Public projects", "projects", "Veröffentlichte Projekte"
            )
        )
        return found

    return cache.get_or_compute(conn, ("ogc-collections",), compute)


# the box of the stored geometry, transformed: as a collection's own document computes it
_WGS84_BOX = "ST_Transform(ST_SetSRID(ST_Extent(geom)::geometry, min(ST_SRID(geom))), 4326)::box2d"
_SUMMARY = "ST_XMin(x.e), ST_YMin(x.e), ST_XMax(x.e), ST_YMax(x.e), x.n"
_SUMMARIES = text(
    f"""
    SELECT s.key || '-' || l.key AS id, l.bounds[1], l.bounds[2], l.bounds[3], l.bounds[4],
           l.region_count
    FROM region_levels l JOIN region_systems s ON s.id = l.system_id  -- kept: migrations 0014, 0017
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

    @classmethod
    def of_row(cls, row: Sequence) -> Summary:
        return cls(tuple(row[:4]) if row[0] is not None else None, int(row[4]))


def collection_summaries(
    conn: Connection, cache: LayerCache, with_projects: bool = True
) -> dict[str, Summary]:
    """WGS 84 bounds and feature counts of every collection in one pass (regions and
    facilities through the cache; the public projects, which change without a data version,
    read each time, and only ``with_projects``). The counts are what ``numberMatched`` says
    of an unfiltered page."""

    def compute() -> dict[str, Summary]:
        return {row[0]: Summary.of_row(row[1:]) for row in conn.execute(_SUMMARIES)}

    found = dict(cache.get_or_compute(conn, ("ogc-summaries",), compute))
    if with_projects:
        found["projects"] = Summary.of_row(conn.execute(_PROJECTS_SUMMARY).one())
    return found


def collection_summary(conn: Connection, cache: LayerCache, collection: Collection) -> Summary:
    """One collection's bounds and count (the projects query runs only for the projects)."""
    found = collection_summaries(conn, cache, with_projects=collection.kind == "projects")
    return found.get(collection.id, Summary(None, 0))


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


def storage_srid_of(conn: Connection, cache: LayerCache) -> int:
    return cache.get_or_compute(conn, ("storage-srid",), lambda: storage_srid(conn))


@dataclass
class CollectionSources:
    """What a request needs to turn a collection id into its feature source (a dependency:
    ``sources: CollectionSources = Depends(get_sources)``)."""

    conn: Connection
    cache: LayerCache
    settings: WebSettings
    records: Attribution
    cities: Cities
    licences: dict[str, Licence]

    def collection(self, collection_id: str) -> Collection:
        return get_collection(self.conn, self.cache, collection_id)

    def indicators(self, raw: str | None, collection: Collection) -> list[str]:
        return service_indicators(raw, self.settings, self.cities, collection)

    def source(
        self, collection: Collection, indicators: list[str], period: date | None = None
    ) -> FeatureSource:
        return collection_source(
            self.conn, self.cache, collection, indicators, period, self.records
        )

    @property
    def storage_srid(self) -> int:
        return storage_srid_of(self.conn, self.cache)

    def offered(self, collection: Collection | None = None) -> list[int]:
        """The SRIDs a collection (or, without one, the service) can answer in."""
        system = collection.system if collection else None
        return offered_srids(self.storage_srid, self.cities, system)


def sources_of(request: Request, conn: Connection) -> CollectionSources:
    """What building a source takes, from the app and the request's connection."""
    return CollectionSources(
        conn, cache_of(request), settings_of(request), records_of(request), cities_of(request),
        licences_of(request),
    )  # fmt: skip


async def get_sources(
    request: Request, conn: Connection = Depends(get_connection)
) -> CollectionSources:
    return sources_of(request, conn)
