"""The evaluator of indicators computed from stored values by their catalog rule.

Values stored at the level are used as they are. Otherwise they are aggregated in PostGIS from
the nearest finer level that has them, following the stored parent codes: ``sum`` adds the
children; ``ratio`` divides the numerator summed over the children by the denominator summed
over the *same* children (those with both valid; a share is never averaged); ``weighted_mean``
weights the children by the weight indicator; ``none`` refuses. A region whose children are not
all valid is flagged ``partial``; one with no valid child is ``no_data``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotComputable, NotFound
from layers.levels import ANCESTORS, Level, levels_of
from layers.meta import Evaluate, IndicatorMeta, frame, get_indicator


def stored_rule_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date, ev: Evaluate
) -> pd.DataFrame:
    """Per region of ``target``: value, status, partial (before small-number rules)."""
    if has_values(conn, meta.id, target.id, period):
        return _stored(conn, meta.id, target.id, period)
    if meta.aggregation == "ratio":
        return _ratio(conn, meta, target, period, ev)
    source = _finer_level_with_values(conn, meta, target, period)
    if meta.aggregation == "none":
        raise NotComputable(
            f"{meta.key} cannot be aggregated to {target.key} (its rule is 'none'); "
            f"it is published for {source.key}",
            published_at=source.name,
        )
    if meta.aggregation == "weighted_mean":
        return _weighted(conn, meta, source, target, period)
    return _aggregated_sum(conn, meta.id, source, target, period)


def stored_rule_periods(
    conn: Connection, meta: IndicatorMeta, system_id: int, ev: Evaluate
) -> list[date]:
    """Periods with stored values of the indicator (or of its numerator) in the system."""
    keys = [meta.key, meta.numerator] if meta.numerator else [meta.key]
    return list(
        conn.execute(
            text(
                # kept by the triggers of migration 0014: no scan of the values
                "SELECT DISTINCT p.period FROM statistic_periods p "
                "JOIN indicators i ON i.id = p.indicator_id "
                "WHERE i.key = ANY(:keys) AND p.system_id = :sys ORDER BY 1"
            ),
            {"keys": keys, "sys": system_id},
        ).scalars()
    )


def stored_rule_city(
    conn: Connection, meta: IndicatorMeta, top: Level, period: date, ev: Evaluate
) -> float | None:
    """The indicator for the whole system, by the same rule over its coarsest level."""
    if meta.aggregation == "none":
        return None
    if meta.aggregation == "ratio":
        return _ratio_city(conn, meta, top, period, ev)
    values = ev.values(conn, meta, top, period)
    valid = values[values["status"] == "valid"]
    if valid.empty:
        return None
    if meta.aggregation == "weighted_mean":
        weights = ev.values(conn, get_indicator(conn, meta.weight), top, period)
        joined = valid.merge(weights[weights["status"] == "valid"], on="region_id")
        total = joined["value_y"].sum()
        return float((joined["value_x"] * joined["value_y"]).sum() / total) if total else None
    return float(valid["value"].sum())


def _ratio_city(
    conn: Connection, meta: IndicatorMeta, top: Level, period: date, ev: Evaluate
) -> float | None:
    """Numerator and denominator summed over the same regions: at the level where both are
    stored, those with both valid."""
    numerator = get_indicator(conn, meta.numerator)
    denominator = get_indicator(conn, meta.denominator)
    if numerator.rule == denominator.rule == "sum":
        for level in [top, *_finer_levels(top, conn)]:
            if has_values(conn, numerator.id, level.id, period):
                num = _stored(conn, numerator.id, level.id, period)
                den = _stored(conn, denominator.id, level.id, period)
                break
        else:
            return None
    else:
        num, den = _pair(conn, meta, top, period, ev)
    ok = _both_valid(num, den)
    total = den["value"][ok].sum()
    return float(num["value"][ok].sum() / total * meta.scale) if ok.any() and total else None


def has_values(conn: Connection, indicator_id: int, level_id: int, period: date) -> bool:
    return bool(
        conn.execute(
            text(
                "SELECT EXISTS (SELECT 1 FROM statistic_values v JOIN regions r "
                "ON r.id = v.region_id WHERE v.indicator_id = :i AND v.period = :p "
                "AND r.level_id = :l)"
            ),
            {"i": indicator_id, "p": period, "l": level_id},
        ).scalar_one()
    )


def _ratio(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date, ev: Evaluate
) -> pd.DataFrame:
    numerator = get_indicator(conn, meta.numerator)
    denominator = get_indicator(conn, meta.denominator)
    both_stored = numerator.rule == denominator.rule == "sum"
    if both_stored and not has_values(conn, numerator.id, target.id, period):
        source = _finer_level_with_both(conn, numerator, denominator, target, period)
        if source is not None:
            return _aggregated_ratio(conn, meta, numerator, denominator, source, target, period)
    num, den = _pair(conn, meta, target, period, ev)
    return divide(num, den, meta.scale)


def _pair(
    conn: Connection, meta: IndicatorMeta, level: Level, period: date, ev: Evaluate
) -> tuple[pd.DataFrame, pd.DataFrame]:
    num = ev.values(conn, get_indicator(conn, meta.numerator), level, period)
    den = ev.values(conn, get_indicator(conn, meta.denominator), level, period)
    return num.sort_values("code").reset_index(drop=True), den.sort_values("code").reset_index(
        drop=True
    )


def _both_valid(num: pd.DataFrame, den: pd.DataFrame) -> np.ndarray:
    return (num["status"].to_numpy() == "valid") & (den["status"].to_numpy() == "valid")


def divide(numerator: pd.DataFrame, denominator: pd.DataFrame, scale: float) -> pd.DataFrame:
    """Region by region: numerator / denominator × scale (no_data where either is not valid
    or the denominator is 0)."""
    rows = numerator.drop(columns=["value", "status", "partial"]).copy()
    num, den = numerator["value"].to_numpy(float), denominator["value"].to_numpy(float)
    ok = _both_valid(numerator, denominator) & (den != 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["value"] = np.where(ok, num / np.where(ok, den, 1) * scale, np.nan)
    rows["status"] = np.where(ok, "valid", "no_data")
    rows["partial"] = numerator["partial"].to_numpy() | denominator["partial"].to_numpy()
    return rows


def _finer_levels(target: Level, conn: Connection) -> list[Level]:
    return sorted(
        (lvl for lvl in levels_of(conn, target.system_id) if lvl.rank > target.rank),
        key=lambda lvl: lvl.rank,
    )


def _finer_level_with_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date
) -> Level:
    for level in _finer_levels(target, conn):
        if has_values(conn, meta.id, level.id, period):
            return level
    raise NotFound(
        f"no values of {meta.key} for {period:%d.%m.%Y} in {target.system} at {target.key} "
        "or a finer level"
    )


def _finer_level_with_both(
    conn: Connection, a: IndicatorMeta, b: IndicatorMeta, target: Level, period: date
) -> Level | None:
    for level in _finer_levels(target, conn):
        if has_values(conn, a.id, level.id, period):
            return level if has_values(conn, b.id, level.id, period) else None
    return None


def _stored(conn: Connection, indicator_id: int, level_id: int, period: date) -> pd.DataFrame:
    return frame(
        conn,
        """
        SELECT r.id AS region_id, r.code, r.name, r.parent_code, v.value,
               coalesce(v.status, 'no_data') AS status, coalesce(v.partial, false) AS partial
        FROM regions r
        LEFT JOIN statistic_values v ON v.region_id = r.id AND v.indicator_id = :i
             AND v.period = :p
        WHERE r.level_id = :l ORDER BY r.code
        """,
        {"i": indicator_id, "p": period, "l": level_id},
    )


def _levels(source: Level, target: Level) -> dict:
    return {"source": source.id, "target": target.id, "target_rank": target.rank}


def _aggregated_sum(
    conn: Connection, indicator_id: int, source: Level, target: Level, period: date
) -> pd.DataFrame:
    return frame(
        conn,
        ANCESTORS
        + """
        SELECT t.id AS region_id, t.code, t.name, t.parent_code,
               sum(v.value) FILTER (WHERE v.status = 'valid') AS value,
               CASE WHEN count(*) FILTER (WHERE v.status = 'valid') = 0 THEN 'no_data'
                    ELSE 'valid' END AS status,
               count(*) FILTER (WHERE v.status = 'valid') < count(a.base_id)
               OR coalesce(bool_or(v.partial), false) AS partial
        FROM regions t
        LEFT JOIN ancestors a ON a.target_id = t.id
        LEFT JOIN statistic_values v ON v.region_id = a.base_id AND v.indicator_id = :i
             AND v.period = :p
        WHERE t.level_id = :target
        GROUP BY t.id ORDER BY t.code
        """,
        {"i": indicator_id, "p": period, **_levels(source, target)},
    )


def _aggregated_ratio(
    conn: Connection,
    meta: IndicatorMeta,
    numerator: IndicatorMeta,
    denominator: IndicatorMeta,
    source: Level,
    target: Level,
    period: date,
) -> pd.DataFrame:
    # numerator and denominator over the same children: those where both are valid
    value = "sum(a) FILTER (WHERE ok) / nullif(sum(b) FILTER (WHERE ok), 0) * :scale"
    return _paired(
        conn, numerator.id, denominator.id, value, source, target, period, {"scale": meta.scale}
    )


def _weighted(
    conn: Connection, meta: IndicatorMeta, source: Level, target: Level, period: date
) -> pd.DataFrame:
    weight = get_indicator(conn, meta.weight)
    value = "sum(a * b) FILTER (WHERE ok) / nullif(sum(b) FILTER (WHERE ok), 0)"
    return _paired(conn, meta.id, weight.id, value, source, target, period, {})


def _paired(
    conn: Connection,
    a: int,
    b: int,
    value_sql: str,
    source: Level,
    target: Level,
    period: date,
    params: dict,
) -> pd.DataFrame:
    """Per region of ``target``: ``value_sql`` over the children where both indicators ``a``
    and ``b`` are valid (``ok``); partial when a child lacks one or was partial itself."""
    return frame(
        conn,
        ANCESTORS
        + f"""
        , pairs AS (
            SELECT an.target_id, x.value AS a, y.value AS b,
                   (x.status = 'valid' AND y.status = 'valid') AS ok,
                   (x.partial OR y.partial) AS was_partial
            FROM ancestors an
            LEFT JOIN statistic_values x ON x.region_id = an.base_id AND x.indicator_id = :a
                 AND x.period = :p
            LEFT JOIN statistic_values y ON y.region_id = an.base_id AND y.indicator_id = :b
                 AND y.period = :p
        )
        SELECT t.id AS region_id, t.code, t.name, t.parent_code, {value_sql} AS value,
               CASE WHEN coalesce(sum(b) FILTER (WHERE ok), 0) = 0 THEN 'no_data'
                    ELSE 'valid' END AS status,
               count(*) FILTER (WHERE ok) < count(pairs.target_id)
               OR coalesce(bool_or(was_partial) FILTER (WHERE ok), false) AS partial
        FROM regions t LEFT JOIN pairs ON pairs.target_id = t.id
        WHERE t.level_id = :target
        GROUP BY t.id ORDER BY t.code
        """,
        {"a": a, "b": b, "p": period, **params, **_levels(source, target)},
    )
