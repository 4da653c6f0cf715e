"""Where a record lies, in the terms rights are given in: its districts, the regions of the
coarsest level of each region system it touches, named ``<system>:<code>`` (a bare code such as
"01" is a different place in each city). The one place that finds them, for a drawn geometry
or for chosen regions."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

from accounts.users import district_key

_TOP = """
    SELECT t.code, t.geom, s.key AS system FROM regions t
    JOIN region_levels tl ON tl.id = t.level_id
    JOIN region_systems s ON s.id = t.system_id
    WHERE tl.rank = (SELECT min(rank) FROM region_levels m WHERE m.system_id = t.system_id)
"""


def districts_of_geometry(conn: Connection, ewkb: bytes) -> list[str]:
    """The districts of every system that a geometry (in the store's CRS) touches."""
    rows = conn.execute(
        text(
            f"""
            WITH g AS (SELECT ST_GeomFromEWKB(:g) AS g), top AS ({_TOP})
            SELECT DISTINCT top.system, top.code FROM top, g WHERE ST_Intersects(top.geom, g.g)
            """
        ),
        {"g": ewkb},
    ).all()
    return sorted(district_key(r.system, r.code) for r in rows)


def districts_of_regions(conn: Connection, region_ids: list[int]) -> list[str]:
    """The district of each region (the coarsest-level region of its own system that covers a
    point inside it; the first by code on a shared border)."""
    rows = conn.execute(
        text(
            f"""
            SELECT DISTINCT d.system, d.code FROM regions r
            CROSS JOIN LATERAL (
                SELECT top.system, top.code FROM ({_TOP} AND t.system_id = r.system_id) top
                WHERE ST_Covers(top.geom, ST_PointOnSurface(r.geom))
                ORDER BY top.code LIMIT 1
            ) d
            WHERE r.id = ANY(:ids)
            """
        ),
        {"ids": list(region_ids)},
    ).all()
    return sorted(district_key(r.system, r.code) for r in rows)


def district_codes_sql(column: str) -> str:
    """SQL: the district codes in ``column`` as readers know them, each once (a Bezirk is a
    district of every system that covers it); ``column`` is a fixed column name."""
    return f"ARRAY(SELECT DISTINCT split_part(d, ':', 2) FROM unnest({column}) d ORDER BY 1)"
