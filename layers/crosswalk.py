"""Boundary-version crosswalks: the overlay of two region systems (e.g. LOR 2019 → LOR 2021)
and counts re-apportioned from the old regions to the new ones.

The overlay keeps every intersection of an old and a new region with its area and both shares;
slivers below a tolerance (digitising noise along shared boundaries) are dropped and the shares
of the remaining pieces renormalised, so a source region's value is passed on in full.

Re-apportioned counts are written as their own, clearly labelled indicators
(``inhabitants_from_berlin_lor_2019_area``), never mixed into the measured series. Two weightings:
``area`` (share of the old region's area) and ``dasymetric`` (area × the population density of
the new region in a reference period), which places people where they live.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from ingest.catalog import Catalog, Indicator, upsert_catalog
from ingest.runs import finish_run, start_run
from layers.errors import InvalidParameter, NotComputable, NotFound
from layers.indicators import get_indicator, indicator_table, stored_periods
from layers.levels import Level, finest_level

WEIGHTINGS = {"area": "flächengewichtet", "dasymetric": "dasymetrisch"}
DEFAULT_SLIVER_M2 = 50.0
# pieces under this share of their old region are digitising noise too (the largest piece that
# crosses a Bezirk boundary between LOR 2019 and 2021 is 0.11 % of its old region)
DEFAULT_SLIVER_SHARE = 0.002


@dataclass(frozen=True)
class Crosswalk:
    id: int
    source: Level
    target: Level
    pieces: int
    slivers: int
    sliver_area_m2: float


def build_crosswalk(
    conn: Connection,
    source_system: str,
    target_system: str,
    *,
    sliver_m2: float = DEFAULT_SLIVER_M2,
    sliver_share: float = DEFAULT_SLIVER_SHARE,
) -> Crosswalk:
    """Overlay the finest levels of two systems in PostGIS and store the pieces; pieces under
    ``sliver_m2`` or under ``sliver_share`` of their old region are dropped as slivers."""
    if sliver_m2 < 0 or not 0 <= sliver_share < 0.5:
        raise InvalidParameter("sliver tolerances: m² ≥ 0 and a share in [0, 0.5)")
    source, target = finest_level(conn, source_system), finest_level(conn, target_system)
    if source.system_id == target.system_id:
        raise InvalidParameter("a crosswalk needs two different region systems")
    run_id = start_run(
        conn,
        "crosswalk",
        f"{source.system}>{target.system}",
        "",
        {"sliver_m2": sliver_m2, "sliver_share": sliver_share},
    )
    conn.execute(
        text("DELETE FROM crosswalks WHERE source_level_id = :s AND target_level_id = :t"),
        {"s": source.id, "t": target.id},
    )
    crosswalk_id = conn.execute(
        text(
            "INSERT INTO crosswalks (source_level_id, target_level_id, sliver_m2, run_id) "
            "VALUES (:s, :t, :sliver, :run) RETURNING id"
        ),
        {"s": source.id, "t": target.id, "sliver": sliver_m2, "run": run_id},
    ).scalar_one()
    row = conn.execute(
        text(
            """
            WITH pieces AS (
                SELECT s.id AS source_id, t.id AS target_id,
                       ST_Area(ST_Intersection(s.geom, t.geom)) AS area, s.area_m2 AS whole
                FROM regions s JOIN regions t ON s.geom && t.geom AND ST_Intersects(s.geom, t.geom)
                WHERE s.level_id = :s AND t.level_id = :t
            ), marked AS (
                SELECT *, area < :sliver OR area < :share * whole AS sliver FROM pieces
            ), kept AS (
                INSERT INTO crosswalk_pieces
                    (crosswalk_id, source_id, target_id, area_m2, source_share, target_share)
                SELECT :id, source_id, target_id, area,
                       area / sum(area) OVER (PARTITION BY source_id),
                       area / sum(area) OVER (PARTITION BY target_id)
                FROM marked WHERE NOT sliver AND area > 0
                RETURNING 1
            )
            SELECT (SELECT count(*) FROM kept) AS kept,
                   count(*) FILTER (WHERE sliver) AS slivers,
                   coalesce(sum(area) FILTER (WHERE sliver), 0) AS sliver_area
            FROM marked
            """
        ),
        {
            "s": source.id,
            "t": target.id,
            "id": crosswalk_id,
            "sliver": sliver_m2,
            "share": sliver_share,
        },
    ).one()
    lost = conn.execute(
        text(
            "SELECT string_agg(code, ', ' ORDER BY code) FROM regions r WHERE r.level_id = :s "
            "AND NOT EXISTS (SELECT 1 FROM crosswalk_pieces p WHERE p.crosswalk_id = :id "
            "AND p.source_id = r.id)"
        ),
        {"s": source.id, "id": crosswalk_id},
    ).scalar_one()
    if lost:
        raise NotComputable(
            f"regions of {source.system} overlap no region of {target.system}: {lost}"
        )
    finish_run(
        conn,
        run_id,
        status="ok",
        counts={"pieces": row.kept, "slivers": row.slivers},
        report={"sliver_area_m2": row.sliver_area},
    )
    return Crosswalk(crosswalk_id, source, target, row.kept, row.slivers, row.sliver_area)


def get_crosswalk(conn: Connection, source_system: str, target_system: str) -> Crosswalk:
    source, target = finest_level(conn, source_system), finest_level(conn, target_system)
    row = conn.execute(
        text(
            "SELECT c.id, (r.counts->>'pieces')::int AS pieces, "
            "(r.counts->>'slivers')::int AS slivers, "
            "(r.report->>'sliver_area_m2')::float AS sliver_area "
            "FROM crosswalks c JOIN ingest_runs r ON r.id = c.run_id "
            "WHERE c.source_level_id = :s AND c.target_level_id = :t"
        ),
        {"s": source.id, "t": target.id},
    ).first()
    if row is None:
        raise NotFound(
            f"no crosswalk {source_system} → {target_system}; build it first: "
            f"sozialraum crosswalk build {source_system} {target_system}"
        )
    return Crosswalk(row.id, source, target, row.pieces, row.slivers, row.sliver_area)


def series_key(key: str, source_system: str, weighting: str) -> str:
    return f"{key}_from_{re.sub(r'[^a-z0-9]+', '_', source_system.lower())}_{weighting}"


def apportion(
    conn: Connection,
    crosswalk: Crosswalk,
    keys: list[str],
    *,
    weighting: str,
    reference: str = "inhabitants",
    reference_period: date | None = None,
) -> dict[str, int]:
    """Re-apportion the indicators ``keys`` for all their periods; returns values written per
    new indicator key. Shares go through their numerator and denominator."""
    if weighting not in WEIGHTINGS:
        raise InvalidParameter(f"unknown weighting {weighting!r}; one of {', '.join(WEIGHTINGS)}")
    if weighting == "dasymetric" and reference_period is None:
        raise InvalidParameter("dasymetric weighting needs a reference period of the new regions")
    fractions = _fractions(conn, crosswalk, weighting, reference, reference_period)
    method = f"{'area-weighted' if weighting == 'area' else 'dasymetric'} crosswalk from "
    method += crosswalk.source.system
    if weighting == "dasymetric":
        method += f" (density of {reference} on {reference_period:%d.%m.%Y})"
    metas = {key: get_indicator(conn, key) for key in keys}
    counts = []
    for meta in metas.values():
        if meta.aggregation == "ratio":
            counts += [get_indicator(conn, meta.numerator), get_indicator(conn, meta.denominator)]
        elif meta.aggregation == "sum":
            counts.append(meta)
        else:
            raise NotComputable(
                f"{meta.key} cannot be re-apportioned (rule {meta.aggregation!r}); "
                "only counts and shares of counts can"
            )
    for meta in counts:
        if not stored_periods(conn, meta, crosswalk.source.system_id):
            raise NotFound(f"no values of {meta.key} in {crosswalk.source.system} to re-apportion")
    indicators = []
    for meta in {m.key: m for m in [*counts, *metas.values()]}.values():
        indicators.append(_labelled(conn, meta, crosswalk.source.system, weighting, method))
    ids = upsert_catalog(
        conn,
        Catalog(
            key="crosswalk",
            source=f"Umgerechnet aus {crosswalk.source.system}",
            licence="wie die Eingangsdaten",
            attribution="wie die Eingangsdaten",
            indicators=indicators,
        ),
    )
    run_id = start_run(
        conn,
        "apportion",
        f"{crosswalk.source.system}>{crosswalk.target.system}",
        "",
        {"weighting": weighting, "keys": keys, "reference_period": reference_period},
    )
    written = {}
    for meta in {m.key: m for m in counts}.values():
        new_id = ids[series_key(meta.key, crosswalk.source.system, weighting)]
        written[meta.key] = _write_counts(conn, crosswalk, fractions, meta.id, new_id, run_id)
    finish_run(conn, run_id, status="ok", counts=written, report={"method": method})
    return written


def compare_series(
    conn: Connection,
    system: str,
    estimate: tuple[str, date],
    actual: tuple[str, date],
    levels: list[str],
) -> pd.DataFrame:
    """Absolute percentage errors of an estimated series against a measured one, per level:
    median and 90th percentile, over regions where the measured value is not 0."""
    rows = []
    for level in levels:
        est = indicator_table(conn, system, level, *estimate).rows.set_index("code")["value"]
        act = indicator_table(conn, system, level, *actual).rows.set_index("code")["value"]
        both = pd.concat([est, act], axis=1, keys=["est", "act"]).dropna()
        both = both[both["act"] != 0]
        ape = (both["est"] - both["act"]).abs() / both["act"] * 100
        rows.append(
            {
                "level": level,
                "regions": len(both),
                "median_ape": float(np.median(ape)),
                "p90_ape": float(np.percentile(ape, 90)),
            }
        )
    return pd.DataFrame(rows)


def _fractions(
    conn: Connection,
    crosswalk: Crosswalk,
    weighting: str,
    reference: str,
    reference_period: date | None,
) -> tuple[str, dict]:
    """SQL (a CTE body) giving source_id, target_id, fraction of the source's value, and its
    parameters."""
    if weighting == "area":
        return (
            "SELECT source_id, target_id, source_share AS fraction FROM crosswalk_pieces "
            "WHERE crosswalk_id = :cw",
            {"cw": crosswalk.id},
        )
    meta = get_indicator(conn, reference)
    if reference_period not in stored_periods(conn, meta, crosswalk.target.system_id):
        raise NotFound(
            f"no values of {reference} for {reference_period:%d.%m.%Y} in "
            f"{crosswalk.target.system} to weight by"
        )
    # the density of the new region in the reference period; a source whose pieces all lie in
    # unpopulated regions falls back to area weights
    sql = """
        SELECT p.source_id, p.target_id,
               CASE WHEN sum(p.area_m2 * d.density) OVER w > 0
                    THEN p.area_m2 * d.density / sum(p.area_m2 * d.density) OVER w
                    ELSE p.source_share END AS fraction
        FROM crosswalk_pieces p
        JOIN (SELECT r.id, coalesce(v.value, 0) / r.area_m2 AS density FROM regions r
              LEFT JOIN statistic_values v ON v.region_id = r.id AND v.indicator_id = :ref
                   AND v.period = :ref_period AND v.status = 'valid'
              WHERE r.level_id = :target_level) d ON d.id = p.target_id
        WHERE p.crosswalk_id = :cw
        WINDOW w AS (PARTITION BY p.source_id)
    """
    return sql, {
        "cw": crosswalk.id,
        "ref": meta.id,
        "ref_period": reference_period,
        "target_level": crosswalk.target.id,
    }


def _write_counts(
    conn: Connection,
    crosswalk: Crosswalk,
    fractions: tuple[str, dict],
    source_id: int,
    new_id: int,
    run: int,
) -> int:
    conn.execute(
        text(
            "DELETE FROM statistic_values v USING regions r WHERE r.id = v.region_id "
            "AND v.indicator_id = :new AND r.level_id = :t"
        ),
        {"new": new_id, "t": crosswalk.target.id},
    )
    # a new region is valid only when every old region feeding it had a valid value
    return conn.execute(
        text(
            f"""
            WITH f AS ({fractions[0]})
            INSERT INTO statistic_values (indicator_id, region_id, period, value, status, run_id)
            SELECT :new, f.target_id, v.period,
                   CASE WHEN bool_and(v.status = 'valid') THEN sum(v.value * f.fraction) END,
                   CASE WHEN bool_and(v.status = 'valid') THEN 'valid' ELSE 'no_data' END, :run
            FROM f JOIN statistic_values v ON v.region_id = f.source_id AND v.indicator_id = :src
            GROUP BY f.target_id, v.period
            """
        ),
        {**fractions[1], "new": new_id, "src": source_id, "run": run},
    ).rowcount


def _labelled(conn: Connection, meta, source_system: str, weighting: str, method: str) -> Indicator:
    row = conn.execute(
        text("SELECT topic, name_en FROM indicators WHERE id = :id"), {"id": meta.id}
    ).one()
    suffix = f"umgerechnet aus {source_system}, {WEIGHTINGS[weighting]}"

    def key(other: str | None) -> str | None:
        return series_key(other, source_system, weighting) if other else None

    return Indicator(
        key=series_key(meta.key, source_system, weighting),
        topic=row.topic,
        name_de=f"{meta.name_de} ({suffix})",
        name_en=f"{row.name_en} (re-apportioned from {source_system}, {weighting})",
        unit=meta.unit,
        kind=meta.kind,
        aggregation=meta.aggregation,
        numerator=key(meta.numerator),
        denominator=key(meta.denominator),
        polarity=meta.polarity,
        decimals=meta.decimals,
        scale=meta.scale,
        method=method,
    )
