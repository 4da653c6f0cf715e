"""The indicator store: every published indicator table, computed once when its inputs change
and kept in PostgreSQL (``indicator_tables``, ``indicator_values``), so that the API, the map,
the OGC API, tiles, exports and profiles read numbers instead of computing them.

A unit of work is one indicator in one region system for one period, at every level at once:
the coarser level is computed first, so each level's parent values are the published values
of the level above. A unit is saved only if the data version of (system, indicator) is still
the one read before computing it: the version row is read ``FOR SHARE``, which waits for any
transaction that is changing the inputs, so a table computed from data that changed meanwhile
is never kept (the triggers of migration 0009 bump the version and drop stale tables).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import LayerError
from layers.evaluators import city_value, stored_periods
from layers.levels import Level, levels_of
from layers.meta import IndicatorMeta, all_indicators
from layers.suppression import published_values
from spatial.tile_shapes import fill_tile_shapes

ROW_COLUMNS = ["region_id", "code", "name", "parent_code", "value", "status", "partial"]


@dataclass
class LevelTable:
    """One level of a unit as published: rows with parent values, the city value, notes."""

    level: Level
    rows: pd.DataFrame
    city_value: float | None
    notes: list[str]


def compute_unit(
    conn: Connection, meta: IndicatorMeta, system_id: int, period: date
) -> list[LevelTable]:
    """The indicator at every level of the system for ``period`` (levels where it cannot be
    computed, e.g. a rule-'none' value above its level, are left out)."""
    levels = levels_of(conn, system_id)
    try:
        city = city_value(conn, meta, levels[0], period)
    except LayerError:
        city = None
    tables: list[LevelTable] = []
    above: pd.DataFrame | None = None
    for level in levels:
        notes: list[str] = []
        try:
            rows = published_values(conn, meta, level, period, notes).copy()
        except LayerError:
            above = None
            continue
        rows["parent_value"] = np.nan
        if above is not None and meta.aggregation != "none":
            shown = above.set_index("code")
            valid = shown["value"].where(shown["status"] == "valid")
            rows["parent_value"] = rows["parent_code"].map(valid)
        tables.append(LevelTable(level, rows, city, notes))
        above = rows
    return tables


def current_version(conn: Connection, system_id: int, indicator_id: int) -> int:
    """The data version of (system, indicator), created when there is none yet."""
    conn.execute(
        text(
            "INSERT INTO data_versions (system_id, indicator_id) VALUES (:s, :i) "
            "ON CONFLICT DO NOTHING"
        ),
        {"s": system_id, "i": indicator_id},
    )
    return conn.execute(
        text("SELECT version FROM data_versions WHERE system_id = :s AND indicator_id = :i"),
        {"s": system_id, "i": indicator_id},
    ).scalar_one()


def save_unit(
    conn: Connection,
    meta: IndicatorMeta,
    system_id: int,
    period: date,
    tables: list[LevelTable],
    version: int,
) -> bool:
    """Keep the computed tables if the data version is still ``version``; False if the
    inputs changed meanwhile (nothing is kept then)."""
    now = conn.execute(
        text(
            "SELECT version FROM data_versions WHERE system_id = :s AND indicator_id = :i FOR SHARE"
        ),
        {"s": system_id, "i": meta.id},
    ).scalar_one_or_none()
    if now != version:
        return False
    for table in tables:
        key = {"i": meta.id, "l": table.level.id, "p": period}
        conn.execute(
            text(
                "DELETE FROM indicator_tables "
                "WHERE indicator_id = :i AND level_id = :l AND period = :p"
            ),
            key,
        )
        conn.execute(
            text(
                "INSERT INTO indicator_tables (indicator_id, level_id, period, version, "
                "city_value, notes) VALUES (:i, :l, :p, :v, :city, CAST(:notes AS jsonb))"
            ),
            {**key, "v": version, "city": table.city_value, "notes": json.dumps(table.notes)},
        )
        rows = table.rows
        conn.execute(
            text(
                """
                INSERT INTO indicator_values (indicator_id, level_id, period, region_id, value,
                                              status, partial, parent_value)
                SELECT :i, :l, :p, r, v, s, pa, pv
                FROM unnest(CAST(:regions AS integer[]), CAST(:values AS float8[]),
                            CAST(:status AS text[]), CAST(:partial AS boolean[]),
                            CAST(:parents AS float8[])) AS u(r, v, s, pa, pv)
                """
            ),
            {
                **key,
                "regions": [int(r) for r in rows["region_id"]],
                "values": _floats(rows["value"]),
                "status": list(rows["status"]),
                "partial": [bool(x) for x in rows["partial"]],
                "parents": _floats(rows["parent_value"]),
            },
        )
    return True


_IS_STORED = text(
    "SELECT EXISTS (SELECT 1 FROM indicator_tables t JOIN data_versions v "
    "ON v.indicator_id = t.indicator_id AND v.system_id = :s AND v.version = t.version "
    "WHERE t.indicator_id = :i AND t.level_id = :l AND t.period = :p)"
)


def is_stored(conn: Connection, meta: IndicatorMeta, level: Level, period: date) -> bool:
    """Whether the store holds the published table at its current version."""
    key = {"s": level.system_id, "i": meta.id, "l": level.id, "p": period}
    return bool(conn.execute(_IS_STORED, key).scalar_one())


_CELL = text(
    "SELECT v.value, v.status, t.city_value FROM indicator_tables t JOIN data_versions d "
    "ON d.indicator_id = t.indicator_id AND d.system_id = :s AND d.version = t.version "
    "JOIN indicator_values v ON v.indicator_id = t.indicator_id AND v.level_id = t.level_id "
    "AND v.period = t.period AND v.region_id = :r "
    "WHERE t.indicator_id = :i AND t.level_id = :l AND t.period = :p"
)


def stored_cell(
    conn: Connection, meta: IndicatorMeta, level: Level, period: date, region_id: int
) -> tuple[float | None, str, float | None] | None:
    """One region's published value, status and the city value from the store (a region page
    reads its own rows, not the level's), or None when the table is not stored."""
    row = conn.execute(
        _CELL,
        {"s": level.system_id, "i": meta.id, "l": level.id, "p": period, "r": region_id},
    ).first()
    return None if row is None else (row.value, row.status, row.city_value)


def stored_table(
    conn: Connection, meta: IndicatorMeta, level: Level, period: date
) -> tuple[pd.DataFrame, float | None, list[str]] | None:
    """The published table from the store (rows with parent values, city value, notes), or
    None when it is not (or no longer) stored."""
    head = conn.execute(
        text(
            "SELECT t.city_value, t.notes FROM indicator_tables t JOIN data_versions v "
            "ON v.indicator_id = t.indicator_id AND v.system_id = :s AND v.version = t.version "
            "WHERE t.indicator_id = :i AND t.level_id = :l AND t.period = :p"
        ),
        {"s": level.system_id, "i": meta.id, "l": level.id, "p": period},
    ).first()
    if head is None:
        return None
    # on the driver's cursor: wrapping 54,200 rows in result rows cost three times the query
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(
            "SELECT r.id AS region_id, r.code, r.name, r.parent_code, v.value, v.status, "
            "v.partial, v.parent_value FROM indicator_values v JOIN regions r "
            "ON r.id = v.region_id WHERE v.indicator_id = %(i)s AND v.level_id = %(l)s "
            "AND v.period = %(p)s ORDER BY r.code",
            {"i": meta.id, "l": level.id, "p": period},
        )
        rows = pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])
    if rows.empty:
        rows = pd.DataFrame(columns=[*ROW_COLUMNS, "parent_value"])
    rows["value"] = rows["value"].astype(float)
    rows["parent_value"] = rows["parent_value"].astype(float)
    rows["partial"] = rows["partial"].astype(bool)
    return rows, head.city_value, list(head.notes)


def store_summary(conn: Connection) -> list[dict]:
    """Per region system: level tables and values in the store, and the units (indicator ×
    period) that are computable but not stored (0 after a refresh)."""
    summaries = []
    metas = all_indicators(conn)
    systems = conn.execute(text("SELECT id, key FROM region_systems ORDER BY key")).all()
    for system_id, key in systems:
        missing = sum(1 for _ in missing_units(conn, metas, [system_id]))
        tables, values = conn.execute(
            text(
                "SELECT count(DISTINCT (t.indicator_id, t.level_id, t.period)), count(v.*) "
                "FROM indicator_tables t JOIN region_levels l ON l.id = t.level_id "
                "LEFT JOIN indicator_values v ON v.indicator_id = t.indicator_id "
                "AND v.level_id = t.level_id AND v.period = t.period WHERE l.system_id = :s"
            ),
            {"s": system_id},
        ).one()
        summaries.append({"system": key, "tables": tables, "values": values, "missing": missing})
    return summaries


def refresh_store(
    conn: Connection,
    systems: list[int] | None = None,
    keys: list[str] | None = None,
    *,
    commit_each: bool = False,
    stop=None,
    tile_shapes: bool = True,
) -> int:
    """Compute and keep every unit that is not stored (or stale) in ``systems`` (default all)
    for the indicators ``keys`` (default all), and (with ``tile_shapes``) the tile shapes of
    regions without one; returns the number of level tables kept.
    The caller commits, or with ``commit_each`` each unit is committed at once (a server's
    refresher holds no lock for long); ``stop`` (an Event) ends it early."""
    if tile_shapes:
        fill_tile_shapes(conn)
        if commit_each:
            conn.commit()
    if systems is None:
        systems = list(conn.execute(text("SELECT id FROM region_systems ORDER BY id")).scalars())
    metas = [m for m in all_indicators(conn) if keys is None or m.key in keys]
    kept = 0
    for meta, system_id, period in list(missing_units(conn, metas, systems)):
        if stop is not None and stop.is_set():
            break
        kept += _refresh_unit(conn, meta, system_id, period)
        if commit_each:
            conn.commit()
    return kept


def missing_units(
    conn: Connection, metas: list[IndicatorMeta], systems: list[int]
) -> Iterator[tuple[IndicatorMeta, int, date]]:
    """(indicator, system, period) of every computable unit not stored at its current
    version."""
    stored = _stored_units(conn, systems, [m.id for m in metas])
    for meta in metas:
        for system_id in systems:
            try:
                periods = stored_periods(conn, meta, system_id)
            except LayerError:
                continue
            for period in periods:
                if (meta.id, system_id, period) not in stored:
                    yield meta, system_id, period


def _refresh_unit(conn: Connection, meta: IndicatorMeta, system_id: int, period: date) -> int:
    version = current_version(conn, system_id, meta.id)
    tables = compute_unit(conn, meta, system_id, period)
    return len(tables) if save_unit(conn, meta, system_id, period, tables, version) else 0


def _stored_units(conn: Connection, systems: list[int], ids: list[int]) -> set[tuple]:
    """(indicator, system, period) of the units stored at their current version."""
    rows = conn.execute(
        text(
            "SELECT DISTINCT t.indicator_id, l.system_id, t.period FROM indicator_tables t "
            "JOIN region_levels l ON l.id = t.level_id JOIN data_versions v "
            "ON v.system_id = l.system_id AND v.indicator_id = t.indicator_id "
            "AND v.version = t.version "
            "WHERE l.system_id = ANY(:s) AND t.indicator_id = ANY(:i)"
        ),
        {"s": systems, "i": ids},
    ).all()
    return {tuple(r) for r in rows}


def _floats(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values]
