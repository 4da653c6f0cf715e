"""Facilities as a map layer: categories with their counts, points filtered by category,
bounding box and region, as GeoJSON built by PostGIS; and a region's facilities by category."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotFound
from layers.regions import Region

_CATEGORIES = """
SELECT c.key, c.label_de, c.plural_de, c.label_en, c.topic, c.capacity_unit,
       count(f.id) AS facilities, max(f.period) AS period
FROM facility_categories c LEFT JOIN facilities f ON f.category = c.key
GROUP BY c.key ORDER BY c.rank
"""

_CATEGORIES_IN = """
SELECT c.key, c.label_de, c.plural_de, c.label_en, c.topic, c.capacity_unit,
       count(DISTINCT f.id) AS facilities, max(f.period) AS period
FROM facility_categories c
LEFT JOIN facilities f ON f.category = c.key AND EXISTS (
    SELECT 1 FROM facility_regions fr JOIN regions r ON r.id = fr.region_id
    JOIN region_systems s ON s.id = r.system_id WHERE fr.facility_id = f.id AND s.key = :s)
GROUP BY c.key ORDER BY c.rank
"""

_POINTS = """
SELECT '{"type":"FeatureCollection","features":[' || coalesce(string_agg(
    '{"type":"Feature","id":' || f.id
    || ',"geometry":' || ST_AsGeoJSON(ST_Transform(f.geom, 4326), :digits)
    || ',"properties":' || json_build_object(
        'category', f.category, 'label', c.label_de, 'name', f.name, 'address', f.address,
        'capacity', f.capacity, 'capacity_unit', c.capacity_unit, 'provider', f.provider,
        'period', f.period)::text || '}', ',' ORDER BY f.id) FILTER (WHERE f.n <= :limit), '')
    || ']', count(*) FILTER (WHERE f.n <= :limit), count(*) > :limit
FROM (
    SELECT f.*, row_number() OVER (ORDER BY f.id) AS n FROM facilities f
    WHERE (CAST(:category AS text) IS NULL OR f.category = :category) {where}
    ORDER BY f.id LIMIT :limit + 1
) f JOIN facility_categories c ON c.key = f.category
"""


def facility_categories(
    conn: Connection, only_with_facilities: bool = False, system: str | None = None
) -> list[dict]:
    """The categories with their number of facilities (inside ``system``'s regions if given:
    another city's facilities are not this map's)."""
    if system is None:
        rows = [dict(r._mapping) for r in conn.execute(text(_CATEGORIES))]
    else:
        rows = [dict(r._mapping) for r in conn.execute(text(_CATEGORIES_IN), {"s": system})]
    return [r for r in rows if r["facilities"]] if only_with_facilities else rows


def check_category(conn: Connection, category: str) -> None:
    known = conn.execute(
        text("SELECT 1 FROM facility_categories WHERE key = :k"), {"k": category}
    ).first()
    if known is None:
        raise NotFound(f"unknown facility category {category!r}")


def facilities_geojson(
    conn: Connection,
    category: str | None = None,
    bbox: tuple[float, float, float, float] | None = None,
    region: Region | None = None,
    limit: int = 10_000,
    digits: int = 6,
) -> tuple[str, int, bool]:
    """GeoJSON text (features member left open for foreign members) of the matching facilities
    (EPSG:4326), how many it holds, and whether the
    limit cut the result short (one row more is read to know, never a full count)."""
    if category is not None:
        check_category(conn, category)
    where, params = "", {"category": category, "limit": limit, "digits": digits}
    if bbox:
        where += (
            " AND ST_Intersects(f.geom, ST_Transform(ST_MakeEnvelope(:w, :s, :e, :n, 4326), "
            "Find_SRID('public', 'facilities', 'geom')))"
        )
        params.update(zip("wsen", bbox, strict=True))
    if region:
        where += (
            " AND EXISTS (SELECT 1 FROM facility_regions fr "
            "WHERE fr.facility_id = f.id AND fr.region_id = :region)"
        )
        params["region"] = region.id
    features, returned, truncated = conn.execute(
        text(_POINTS.replace("{where}", where)), params
    ).one()
    return features, returned, truncated


def facilities_by_category(conn: Connection, region: Region) -> list[dict]:
    """The region's facilities per category: count, summed capacity and the facilities."""
    rows = conn.execute(
        text(
            "SELECT c.key, c.plural_de, c.capacity_unit, count(*) AS facilities, "
            "sum(f.capacity) AS capacity, max(f.period) AS period, "
            "json_agg(json_build_object('name', f.name, 'address', f.address, "
            "  'capacity', f.capacity) ORDER BY f.name) AS items "
            "FROM facility_regions fr JOIN facilities f ON f.id = fr.facility_id "
            "JOIN facility_categories c ON c.key = f.category "
            "WHERE fr.region_id = :region GROUP BY c.key ORDER BY c.rank"
        ),
        {"region": region.id},
    ).all()
    return [dict(r._mapping) for r in rows]
