"""Read access to region systems, their levels and regions (with parents, children and display
geometry), shaped for the API and the pages."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotFound
from layers.levels import ANCESTORS, Level, get_level, levels_of

_SYSTEMS_SQL = """
SELECT s.key, s.name, s.city, s.valid_from, s.valid_to, s.source, s.licence, s.attribution,
       coalesce(json_agg(json_build_object(
           'key', l.key, 'name', l.name, 'rank', l.rank, 'code_length', l.code_length,
           'regions', (SELECT count(*) FROM regions r WHERE r.level_id = l.id),
           'attribution', l.attribution, 'licence', l.licence
       ) ORDER BY l.rank) FILTER (WHERE l.id IS NOT NULL), '[]') AS levels
FROM region_systems s
LEFT JOIN region_levels l ON l.system_id = s.id
{where}
GROUP BY s.id
ORDER BY s.key
"""


def list_region_systems(conn: Connection) -> list[dict]:
    """Every region system with its levels (coarsest first) and their region counts."""
    return [dict(row._mapping) for row in conn.execute(text(_SYSTEMS_SQL.format(where="")))]


def get_region_system(conn: Connection, key: str) -> dict | None:
    row = conn.execute(text(_SYSTEMS_SQL.format(where="WHERE s.key = :key")), {"key": key}).first()
    return dict(row._mapping) if row else None


@dataclass(frozen=True)
class Region:
    id: int
    code: str
    name: str
    parent_code: str | None
    level: Level
    area_m2: float


def find_region(conn: Connection, system: str, code: str, level: str | None = None) -> Region:
    """The region with ``code`` in ``system`` (codes are unique across the LOR levels; where
    a system repeats a code on several levels, ``level`` chooses, else the finest wins)."""
    rows = conn.execute(
        text(
            "SELECT r.id, r.code, r.name, r.parent_code, r.area_m2, l.key AS level_key "
            "FROM regions r JOIN region_levels l ON l.id = r.level_id "
            "JOIN region_systems s ON s.id = r.system_id "
            "WHERE s.key = :s AND r.code = :c AND (CAST(:l AS text) IS NULL OR l.key = :l) "
            "ORDER BY l.rank DESC"
        ),
        {"s": system, "c": code, "l": level},
    ).all()
    if not rows:
        if level:
            get_level(conn, system, level)  # names an unknown system or level first
        else:
            _check_system(conn, system)
        raise NotFound(f"unknown region {code!r} in {system}")
    row = rows[0]
    return Region(
        row.id,
        row.code,
        row.name,
        row.parent_code,
        get_level(conn, system, row.level_key),
        row.area_m2,
    )


def parents_of(conn: Connection, region: Region) -> list[Region]:
    """The chain of parent regions, coarsest first (a region that belongs directly to a level
    further up has no parent at the levels in between)."""
    chain: list[Region] = []
    current = region
    levels = levels_of(conn, region.level.system_id)
    while current.parent_code is not None:
        coarser = [lvl for lvl in levels if lvl.rank < current.level.rank]
        found = None
        for level in reversed(coarser):  # the nearest coarser level with that code
            try:
                found = find_region(conn, region.level.system, current.parent_code, level.key)
                break
            except NotFound:
                continue
        if found is None:
            break
        chain.append(found)
        current = found
    return chain[::-1]


def children_of(conn: Connection, region: Region) -> list[dict]:
    """The regions whose parent is ``region``: those of the next finer level, and those of
    finer levels that belong to it directly; a region of the same code at a level between is
    their parent instead."""
    rows = conn.execute(
        text(
            "SELECT r.code, r.name, l.key AS level, l.name AS level_name FROM regions r "
            "JOIN region_levels l ON l.id = r.level_id "
            "WHERE r.system_id = :sys AND r.parent_code = :code AND l.rank > :rank "
            "AND NOT EXISTS (SELECT 1 FROM regions q JOIN region_levels ql ON ql.id = q.level_id "
            "  WHERE q.system_id = :sys AND q.code = :code AND ql.rank > :rank "
            "  AND ql.rank < l.rank) "
            "ORDER BY l.rank, r.code"
        ),
        {"sys": region.level.system_id, "code": region.code, "rank": region.level.rank},
    ).all()
    return [dict(r._mapping) for r in rows]


def region_geometry(conn: Connection, region: Region, digits: int = 5) -> dict:
    """Display geometry (EPSG:4326) and its bounding box [west, south, east, north]."""
    row = conn.execute(
        text(
            "SELECT ST_AsGeoJSON(geom_display, :d) AS g, ST_XMin(geom_display) AS w, "
            "ST_YMin(geom_display) AS s, ST_XMax(geom_display) AS e, ST_YMax(geom_display) AS n "
            "FROM regions WHERE id = :id"
        ),
        {"id": region.id, "d": digits},
    ).one()
    return {"geometry": json.loads(row.g), "bbox": [row.w, row.s, row.e, row.n]}


_LEVEL_FEATURES = """
SELECT '{"type":"FeatureCollection","features":[' || coalesce(string_agg(
    '{"type":"Feature","id":' || to_json(r.code)::text
    || ',"geometry":' || ST_AsGeoJSON(r.geom_display, :digits)
    || ',"properties":' || json_build_object(
        'code', r.code, 'name', r.name, 'parent_code', r.parent_code,
        'area_km2', round((r.area_m2 / 1e6)::numeric, 3))::text || '}',
    ',' ORDER BY r.code), '') || ']}'
FROM (SELECT * FROM regions r WHERE r.level_id = :level {where} ORDER BY r.code LIMIT :limit) r
"""


def level_geojson(
    conn: Connection,
    level: Level,
    digits: int = 5,
    bbox: tuple[float, float, float, float] | None = None,
    limit: int = 10_000,
    parent_code: str | None = None,
) -> str:
    """Regions of a level (those of one parent, if given) as GeoJSON text (display geometry,
    EPSG:4326), built by PostGIS."""
    where = ""
    params: dict = {"level": level.id, "digits": digits, "limit": limit}
    if bbox:
        where += " AND r.geom_display && ST_MakeEnvelope(:w, :s, :e, :n, 4326)"
        params.update(zip("wsen", bbox, strict=True))
    if parent_code is not None:
        where += " AND r.parent_code = :parent"
        params["parent"] = parent_code
    return conn.execute(text(_LEVEL_FEATURES.replace("{where}", where)), params).scalar_one()


def regions_of_level(conn: Connection, system: str, level: str) -> list[dict]:
    """Code and name of every region of a level, by code (for pickers)."""
    lvl = get_level(conn, system, level)
    rows = conn.execute(
        text("SELECT code, name FROM regions WHERE level_id = :l ORDER BY code"), {"l": lvl.id}
    ).all()
    return [dict(r._mapping) for r in rows]


def _check_system(conn: Connection, system: str) -> None:
    if get_region_system(conn, system) is None:
        raise NotFound(f"unknown region system {system!r}")


def newest_system(conn: Connection) -> str:
    """The region system in force most recently (the default of maps and catalogs)."""
    key = conn.execute(
        text("SELECT key FROM region_systems ORDER BY valid_from DESC NULLS LAST, key LIMIT 1")
    ).scalar()
    if key is None:
        raise NotFound("no region system is loaded; see: sozialraum ingest boundaries --help")
    return key


def descendants_at(conn: Connection, region: Region, level: Level) -> list[Region]:
    """The regions of the finer ``level`` inside ``region`` (by the stored parent codes),
    by code; the region itself when ``level`` is its own."""
    if level.id == region.level.id:
        return [region]
    if level.rank < region.level.rank:
        raise NotFound(f"{level.name} is not finer than {region.level.name}")
    rows = conn.execute(
        text(
            ANCESTORS + "SELECT r.id, r.code, r.name, r.parent_code, r.area_m2 "
            "FROM ancestors a JOIN regions r ON r.id = a.base_id "
            "WHERE a.target_id = :region ORDER BY r.code"
        ),
        {"source": level.id, "target_rank": region.level.rank, "region": region.id},
    ).all()
    return [Region(**r._mapping, level=level) for r in rows]


def system_extent(conn: Connection, system: str) -> tuple[float, float, float, float] | None:
    """West, south, east, north (WGS 84) of a system's coarsest regions, where its map opens;
    outlying parts under 1 % of the area (an island far off the coast) are left out (kept per
    level by the store, migration 0014)."""
    bounds = conn.execute(
        text(
            "SELECT l.main_bounds FROM region_levels l JOIN region_systems s ON s.id = l.system_id "
            "WHERE s.key = :s ORDER BY l.rank LIMIT 1"
        ),
        {"s": system},
    ).scalar()
    return None if not bounds else tuple(float(v) for v in bounds)


def view_of(extent: tuple[float, float, float, float] | None) -> tuple[tuple[float, float], int]:
    """Centre (lat, lon) and a zoom that shows ``extent`` on a screen about 1,000 px wide."""
    if extent is None:
        return (51.16, 10.45), 6  # the middle of Germany, the whole country
    west, south, east, north = extent
    span = max(east - west, (north - south) * 1.6, 1e-6)
    zoom = int(max(3, min(15, math.floor(math.log2(360 * 1000 / 256 / span)))))
    return ((south + north) / 2, (west + east) / 2), zoom
