"""Region levels of a system and the ancestry of regions between levels (by the stored
parent codes), shared by every part of the analysis layer."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotFound

_LEVELS = (
    "SELECT l.id, l.key, l.name, l.rank, l.system_id, s.key AS system "
    "FROM region_levels l JOIN region_systems s ON s.id = l.system_id "
)


@dataclass(frozen=True)
class Level:
    id: int
    key: str
    name: str
    rank: int
    system_id: int
    system: str


def get_level(conn: Connection, system: str, level: str) -> Level:
    row = conn.execute(
        text(_LEVELS + "WHERE s.key = :s AND l.key = :l"), {"s": system, "l": level}
    ).first()
    if row is None:
        raise NotFound(f"unknown region level {system}/{level}")
    return Level(**row._mapping)


def levels_of(conn: Connection, system_id: int) -> list[Level]:
    """The levels of a system, coarsest first."""
    rows = conn.execute(
        text(_LEVELS + "WHERE l.system_id = :id ORDER BY l.rank"), {"id": system_id}
    ).all()
    return [Level(**r._mapping) for r in rows]


def finest_level(conn: Connection, system: str) -> Level:
    row = conn.execute(
        text(_LEVELS + "WHERE s.key = :s ORDER BY l.rank DESC LIMIT 1"), {"s": system}
    ).first()
    if row is None:
        raise NotFound(f"unknown region system {system!r}")
    return Level(**row._mapping)


# Each region of the source level with its ancestor at the target level, by parent codes. A
# parent is the region of that code at the nearest coarser level that has one: usually the next
# level, but a region may belong directly to a level further up (it then has no ancestor at the
# levels in between, and still counts in every total above).
ANCESTORS = """
WITH RECURSIVE chain (base_id, region_id, parent_code, rank, system_id) AS (
    SELECT r.id, r.id, r.parent_code, l.rank, r.system_id
    FROM regions r JOIN region_levels l ON l.id = r.level_id WHERE r.level_id = :source
    UNION ALL
    SELECT c.base_id, p.id, p.parent_code, pl.rank, p.system_id
    FROM chain c
    JOIN regions p ON p.system_id = c.system_id AND p.code = c.parent_code
    JOIN region_levels pl ON pl.id = p.level_id AND pl.rank < c.rank
    WHERE c.rank > :target_rank AND pl.rank >= :target_rank
      AND NOT EXISTS (
          SELECT 1 FROM regions q JOIN region_levels ql ON ql.id = q.level_id
          WHERE q.system_id = c.system_id AND q.code = c.parent_code
            AND ql.rank < c.rank AND ql.rank > pl.rank)
), ancestors AS (
    SELECT base_id, region_id AS target_id FROM chain WHERE rank = :target_rank
)
"""


def ancestor_ids(conn: Connection, source: Level, target: Level) -> dict[int, int]:
    """Region id at ``source`` → id of its ancestor at the coarser ``target`` level."""
    rows = conn.execute(
        text(ANCESTORS + "SELECT base_id, target_id FROM ancestors"),
        {"source": source.id, "target_rank": target.rank},
    ).all()
    return dict(rows)
