"""Read access to region systems and their levels, shaped for the API."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.engine import Connection

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
