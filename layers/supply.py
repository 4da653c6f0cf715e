"""Supply and access: catchment-based supply (two-step floating catchment area, 2SFCA) and
coverage (how much of a region lies near a facility, how far its centre is from the nearest).

2SFCA with straight-line distances: demand sits at a representative point inside each region of
the finest level (its population of a period); every facility with a capacity divides it among
the demand within the radius (step 1: R_j = S_j / Σ P_k·W(d_kj)), and every region adds up the
ratios of the facilities it reaches (step 2: A_i = Σ R_j·W(d_ij)). W is 1 within the radius, or
falls off with distance (``gaussian``, ``linear``). Coarser levels get the demand-weighted mean.
All distance work runs in PostGIS on the GiST indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import InvalidParameter, NotFound
from layers.evaluators import level_values, stored_periods
from layers.levels import Level, ancestor_ids, get_level, levels_of
from layers.meta import get_indicator

DECAYS = {
    None: "1.0",
    "gaussian": "(exp(-0.5 * power(dist / :radius, 2)) - exp(-0.5)) / (1 - exp(-0.5))",
    "linear": "1 - dist / :radius",
}
MAX_RADIUS_M = 20_000


@dataclass
class Access:
    """2SFCA result at one level: rows (code, name, value, status, demand) and the settings."""

    level: Level
    rows: pd.DataFrame
    category: str
    facility_period: date
    demand: str
    demand_period: date
    radius_m: float
    decay: str | None
    scale: float


def two_step_fca(
    conn: Connection,
    system: str,
    level: str,
    category: str,
    demand: str,
    *,
    radius_m: float,
    decay: str | None = None,
    demand_period: date | None = None,
    facility_period: date | None = None,
    scale: float = 100.0,
) -> Access:
    """Places per ``scale`` people of ``demand`` reachable within ``radius_m``, per region of
    ``level`` (computed on the system's finest level, aggregated weighted by demand)."""
    if decay not in DECAYS:
        raise InvalidParameter(f"unknown distance decay {decay!r}; one of gaussian, linear")
    if not 0 < radius_m <= MAX_RADIUS_M:
        raise InvalidParameter(f"the radius must be between 0 and {MAX_RADIUS_M} m")
    target = get_level(conn, system, level)
    finest = levels_of(conn, target.system_id)[-1]
    facility_period = facility_period or _latest_facilities(conn, category)
    demand_meta = get_indicator(conn, demand)
    on_record = stored_periods(conn, demand_meta, target.system_id)
    if not on_record:
        raise NotFound(f"no values of {demand} in {system}")
    if demand_period is None:  # the population nearest to the facilities' date
        demand_period = min(on_record, key=lambda p: abs((p - facility_period).days))
    people = level_values(conn, demand_meta, finest, demand_period)
    sql = f"""
        WITH demand AS (
            SELECT r.id, ST_PointOnSurface(r.geom) AS pt, p.pop
            FROM regions r JOIN unnest(CAST(:ids AS bigint[]), CAST(:pops AS float8[]))
                 AS p(id, pop) ON p.id = r.id
        ), supply AS (
            SELECT id, geom, capacity FROM facilities
            WHERE category = :category AND period = :fperiod AND capacity > 0
        ), pairs AS (
            SELECT s.id AS sid, d.id AS did, d.pop, s.capacity,
                   ST_Distance(s.geom, d.pt) AS dist
            FROM supply s JOIN demand d ON ST_DWithin(s.geom, d.pt, :radius)
        ), weighted AS (
            SELECT *, {DECAYS[decay]} AS w FROM pairs
        ), ratios AS (
            SELECT sid, max(capacity) / nullif(sum(pop * w), 0) AS r FROM weighted GROUP BY sid
        )
        SELECT d.id AS region_id, coalesce(sum(ratios.r * weighted.w), 0) AS access
        FROM demand d
        LEFT JOIN weighted ON weighted.did = d.id
        LEFT JOIN ratios ON ratios.sid = weighted.sid
        GROUP BY d.id
    """
    valid = people[people["status"] == "valid"]
    access = dict(
        conn.execute(
            text(sql),
            {
                "ids": valid["region_id"].astype(int).tolist(),
                "pops": valid["value"].astype(float).tolist(),
                "category": category,
                "fperiod": facility_period,
                "radius": radius_m,
            },
        ).all()
    )
    rows = people[["region_id", "code", "name", "parent_code"]].copy()
    rows["demand"] = people["value"].where(people["status"] == "valid")
    rows["value"] = rows["region_id"].map(access).astype(float) * scale
    rows["status"] = np.where(rows["value"].notna(), "valid", "no_data")
    if target.id != finest.id:
        rows = _demand_weighted(conn, rows, finest, target)
    return Access(
        target, rows, category, facility_period, demand, demand_period, radius_m, decay, scale
    )


def coverage(
    conn: Connection, system: str, level: str, category: str, distance_m: float
) -> pd.DataFrame:
    """Per region: the share of its area within ``distance_m`` of a facility of ``category``
    (in %), and the distance from its representative point to the nearest one (m)."""
    if not 0 < distance_m <= MAX_RADIUS_M:
        raise InvalidParameter(f"the distance must be between 0 and {MAX_RADIUS_M} m")
    target = get_level(conn, system, level)
    period = _latest_facilities(conn, category)
    result = conn.execute(
        text(
            """
            SELECT r.id AS region_id, r.code, r.name,
                   100 * coalesce(ST_Area(ST_Intersection(r.geom, near.zone)), 0) / r.area_m2
                       AS covered_share,
                   nearest.dist AS nearest_m
            FROM regions r
            LEFT JOIN LATERAL (
                SELECT ST_Union(ST_Buffer(f.geom, :d, 16)) AS zone FROM facilities f
                WHERE f.category = :category AND f.period = :period
                  AND ST_DWithin(f.geom, r.geom, :d)
            ) near ON true
            LEFT JOIN LATERAL (
                SELECT ST_Distance(f.geom, ST_PointOnSurface(r.geom)) AS dist FROM facilities f
                WHERE f.category = :category AND f.period = :period
                ORDER BY f.geom <-> ST_PointOnSurface(r.geom) LIMIT 1
            ) nearest ON true
            WHERE r.level_id = :level ORDER BY r.code
            """
        ),
        {"d": distance_m, "category": category, "period": period, "level": target.id},
    )
    return pd.DataFrame(result.all(), columns=list(result.keys()))


def _latest_facilities(conn: Connection, category: str) -> date:
    period = conn.execute(
        text("SELECT max(period) FROM facilities WHERE category = :c"), {"c": category}
    ).scalar()
    if period is None:
        raise NotFound(f"no facilities of category {category!r} are loaded")
    return period


def _demand_weighted(
    conn: Connection, rows: pd.DataFrame, finest: Level, target: Level
) -> pd.DataFrame:
    """Demand-weighted mean of the finest level's values per region of ``target``."""
    valid = rows[rows["status"] == "valid"]
    frame = pd.DataFrame(
        {
            "target": valid["region_id"].map(ancestor_ids(conn, finest, target)),
            "vw": valid["value"] * valid["demand"],
            "w": valid["demand"],
        }
    )
    sums = frame.groupby("target")[["vw", "w"]].sum()
    regions = conn.execute(
        text(
            "SELECT id AS region_id, code, name, parent_code FROM regions WHERE level_id = :l "
            "ORDER BY code"
        ),
        {"l": target.id},
    )
    out = pd.DataFrame(regions.all(), columns=list(regions.keys()))
    out["demand"] = out["region_id"].map(sums["w"])
    out["value"] = out["region_id"].map(sums["vw"] / sums["w"].where(sums["w"] > 0))
    out["status"] = np.where(out["value"].notna(), "valid", "no_data")
    return out
