"""Region systems in the store: what is loaded (levels, regions, values, last run) and removing a
system or one of its levels, which is refused while statistics loaded on its regions, records
placed in them or written profile sections depend on it; what is computed from other data
(facility assignments and counts, participation counts, crosswalks) goes with it."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from ingest.errors import IngestError


@dataclass
class LevelSummary:
    key: str
    name: str
    rank: int
    regions: int
    area_km2: float


@dataclass
class SystemSummary:
    key: str
    name: str
    city: str
    levels: list[LevelSummary] = field(default_factory=list)
    values: int = 0
    sources: list[str] = field(default_factory=list)


_LEVELS = """
SELECT s.key AS system, s.name AS system_name, s.city, l.key, l.name, l.rank,
       count(r.id) AS regions, coalesce(sum(r.area_m2), 0) / 1e6 AS area_km2
FROM region_systems s JOIN region_levels l ON l.system_id = s.id
LEFT JOIN regions r ON r.level_id = l.id
WHERE CAST(:system AS text) IS NULL OR s.key = :system
GROUP BY s.id, l.id ORDER BY s.key, l.rank
"""

_VALUES = """
SELECT s.key AS system, count(v.id) AS n,
       array_remove(array_agg(DISTINCT CASE WHEN u.kind = 'statistics' THEN u.source END), NULL)
           AS sources
FROM region_systems s JOIN regions r ON r.system_id = s.id
JOIN statistic_values v ON v.region_id = r.id JOIN ingest_runs u ON u.id = v.run_id
WHERE CAST(:system AS text) IS NULL OR s.key = :system
GROUP BY s.key
"""


def system_summaries(conn: Connection, system: str | None = None) -> list[SystemSummary]:
    """Every loaded system (or one) with its levels, region counts, areas and values."""
    found: dict[str, SystemSummary] = {}
    for row in conn.execute(text(_LEVELS), {"system": system}):
        summary = found.setdefault(row.system, SystemSummary(row.system, row.system_name, row.city))
        summary.levels.append(
            LevelSummary(row.key, row.name, row.rank, row.regions, float(row.area_km2))
        )
    for row in conn.execute(text(_VALUES), {"system": system}):
        found[row.system].values = row.n
        found[row.system].sources = sorted(row.sources)
    if system is not None and system not in found:
        known = ", ".join(s.key for s in system_summaries(conn)) or "none"
        raise IngestError(f"no region system {system!r} is loaded (loaded: {known})")
    return list(found.values())


def _dependents(conn: Connection, system_id: int, level_ids: list[int]) -> list[str]:
    """What would be lost: statistics (by source), records and written sections."""
    params = {"levels": level_ids}
    lost = [
        f"{row.n:,} statistic values of {row.source}"
        for row in conn.execute(
            text(
                "SELECT u.source, count(*) AS n FROM statistic_values v "
                "JOIN regions r ON r.id = v.region_id JOIN ingest_runs u ON u.id = v.run_id "
                "WHERE r.level_id = ANY(:levels) AND u.kind = 'statistics' "
                "GROUP BY u.source ORDER BY u.source"
            ),
            params,
        )
    ]
    for table, owner, what in (
        ("project_regions", "project_id", "project"),
        ("event_regions", "event_id", "participation event"),
        ("profile_sections", "id", "written profile section"),
    ):
        n = conn.execute(
            text(
                f"SELECT count(DISTINCT t.{owner}) FROM {table} t JOIN regions r "
                "ON r.id = t.region_id WHERE r.level_id = ANY(:levels)"
            ),
            params,
        ).scalar_one()
        if n:
            lost.append(f"{n:,} {what}{'s' if n != 1 else ''} placed in its regions")
    return lost


def delete_system(engine: Engine, system: str, level: str | None = None) -> str:
    """Remove a system (or its finest or coarsest ``level``); refuses while anything above
    depends on it, naming what. Returns what was removed."""
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sozialraum:boundaries'))"))
        summary = system_summaries(conn, system)[0]
        system_id = conn.execute(
            text("SELECT id FROM region_systems WHERE key = :s"), {"s": system}
        ).scalar_one()
        levels = {
            row.key: row.id
            for row in conn.execute(
                text("SELECT key, id FROM region_levels WHERE system_id = :s ORDER BY rank"),
                {"s": system_id},
            )
        }
        if level is not None:
            if level not in levels:
                raise IngestError(f"{system} has no level {level!r} (levels: {', '.join(levels)})")
            keys = list(levels)
            if level not in (keys[0], keys[-1]) or len(keys) == 1:
                raise IngestError(
                    f"only the coarsest or the finest level of {system} can be deleted "
                    f"({keys[0]} or {keys[-1]}); {level} lies between others"
                    if len(keys) > 1
                    else f"{level} is the only level of {system}: delete the system instead"
                )
        targets = [levels[level]] if level else list(levels.values())
        lost = _dependents(conn, system_id, targets)
        what = f"{system}/{level}" if level else system
        if lost:
            raise IngestError(f"{what} cannot be deleted: " + "; ".join(lost) + " depend on it")
        regions = conn.execute(
            text("SELECT count(*) FROM regions WHERE level_id = ANY(:l)"), {"l": targets}
        ).scalar_one()
        if level is None:
            conn.execute(text("DELETE FROM region_systems WHERE id = :s"), {"s": system_id})
        else:
            conn.execute(text("DELETE FROM regions WHERE level_id = :l"), {"l": targets[0]})
            conn.execute(text("DELETE FROM region_levels WHERE id = :l"), {"l": targets[0]})
            keys = list(levels)
            if level == keys[0]:  # the next level has no parents any more
                conn.execute(
                    text("UPDATE regions SET parent_code = NULL WHERE level_id = :l"),
                    {"l": levels[keys[1]]},
                )
        # a new data version: caches keyed by the last run see the change
        conn.execute(
            text(
                "INSERT INTO ingest_runs (kind, source, checksum, options, started_at, "
                "finished_at, status, counts, message) VALUES ('boundaries', :src, '', '{}', "
                "clock_timestamp(), clock_timestamp(), 'ok', CAST(:counts AS jsonb), 'deleted')"
            ),
            {"src": f"delete:{what}", "counts": f'{{"regions": {regions}}}'},
        )
    levels_text = f"{len(summary.levels)} levels, " if level is None else ""
    return f"deleted {what}: {levels_text}{regions:,} regions"
