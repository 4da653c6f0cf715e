"""Any catalog indicator for (region system, level, period): per-region values with status, a
`partial` flag, the parent region's value and the city value.

Values stored at the level are used as they are. Otherwise they are aggregated in PostGIS from
the nearest finer level that has them, following the stored parent codes, by the catalog rule:
``sum`` adds the children; ``ratio`` divides the aggregated numerator by the aggregated
denominator (a share is never averaged); ``weighted_mean`` weights the children by the weight
indicator; ``none`` refuses. A region whose children are not all valid is flagged ``partial``;
one with no valid child is ``no_data``. Values of regions under the indicator's small-number
threshold (inhabitants) are ``suppressed``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotComputable, NotFound
from layers.levels import ANCESTORS, Level, get_level, levels_of

POPULATION = "inhabitants"
COLUMNS = ["region_id", "code", "name", "parent_code", "value", "status", "partial"]


@dataclass(frozen=True)
class IndicatorMeta:
    id: int
    key: str
    name_de: str
    unit: str
    kind: str
    aggregation: str
    numerator: str | None
    denominator: str | None
    weight: str | None
    decimals: int
    polarity: str
    min_population: int | None
    definition: dict

    @property
    def scale(self) -> float:
        return float(self.definition.get("scale", 1))

    @property
    def expression(self) -> str | None:
        return self.definition.get("expression")


@dataclass
class IndicatorTable:
    """The indicator at one level and period: rows plus the reference values."""

    indicator: IndicatorMeta
    level: Level
    period: date
    rows: pd.DataFrame  # code, name, value, status, partial, parent_code, parent_value
    city_value: float | None
    notes: list[str] = field(default_factory=list)


def get_indicator(conn: Connection, key: str) -> IndicatorMeta:
    row = conn.execute(
        text(
            "SELECT id, key, name_de, unit, kind, aggregation, numerator, denominator, weight, "
            "decimals, polarity, min_population, definition FROM indicators WHERE key = :k"
        ),
        {"k": key},
    ).first()
    if row is None:
        raise NotFound(f"unknown indicator {key!r}; see: sozialraum indicators list")
    return IndicatorMeta(**{**row._mapping, "definition": row.definition or {}})


def stored_periods(conn: Connection, indicator: IndicatorMeta, system_id: int) -> list[date]:
    """Periods with stored values of the indicator (or of its numerator) in the system."""
    if indicator.expression:
        from layers.derived import expression_periods  # derived builds on this module

        return expression_periods(conn, indicator, system_id)
    if "composite" in indicator.definition:
        first = indicator.definition["composite"]["index"]["components"][0]["indicator"]
        return stored_periods(conn, get_indicator(conn, first), system_id)
    keys = [indicator.key, indicator.numerator] if indicator.numerator else [indicator.key]
    return list(
        conn.execute(
            text(
                "SELECT DISTINCT v.period FROM statistic_values v "
                "JOIN indicators i ON i.id = v.indicator_id JOIN regions r ON r.id = v.region_id "
                "WHERE i.key = ANY(:keys) AND r.system_id = :sys ORDER BY 1"
            ),
            {"keys": keys, "sys": system_id},
        ).scalars()
    )


def indicator_table(
    conn: Connection, system: str, level: str, key: str, period: date
) -> IndicatorTable:
    """The indicator at ``level`` for ``period`` with parent and city reference values."""
    target = get_level(conn, system, level)
    meta = get_indicator(conn, key)
    rows = level_values(conn, meta, target, period)
    notes: list[str] = []
    levels = levels_of(conn, target.system_id)
    coarser = [lvl for lvl in levels if lvl.rank < target.rank]
    rows["parent_value"] = np.nan
    if coarser and meta.aggregation != "none":
        parent = level_values(conn, meta, coarser[-1], period).set_index("code")
        valid = parent["value"].where(parent["status"] == "valid")
        rows["parent_value"] = rows["parent_code"].map(valid)
    city = city_value(conn, meta, levels[0], period)
    rows = apply_small_numbers(conn, meta, target, period, rows, notes)
    return IndicatorTable(meta, target, period, rows, city, notes)


def level_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date
) -> pd.DataFrame:
    """Per region of ``target``: value, status, partial (before small-number suppression)."""
    if meta.expression:
        from layers.derived import expression_values  # derived builds on this module

        return expression_values(conn, meta, target, period)
    if "composite" in meta.definition:
        from layers.composite import composite_values  # composite builds on this module

        return composite_values(conn, meta.definition["composite"], target, period)
    if _has_values(conn, meta.id, target.id, period):
        return _stored(conn, meta.id, target.id, period)
    if meta.aggregation == "ratio":
        numerator = level_values(conn, get_indicator(conn, meta.numerator), target, period)
        denominator = level_values(conn, get_indicator(conn, meta.denominator), target, period)
        return _divide(numerator, denominator, meta.scale)
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


def city_value(conn: Connection, meta: IndicatorMeta, top: Level, period: date) -> float | None:
    """The indicator for the whole system (the sum over its coarsest level, by the same rule)."""
    if meta.expression:
        from layers.derived import expression_city_value  # derived builds on this module

        return expression_city_value(conn, meta, top, period)
    if meta.aggregation == "none":
        return None
    if meta.aggregation == "ratio":
        num = city_value(conn, get_indicator(conn, meta.numerator), top, period)
        den = city_value(conn, get_indicator(conn, meta.denominator), top, period)
        return None if num is None or not den else num / den * meta.scale
    values = level_values(conn, meta, top, period)
    valid = values[values["status"] == "valid"]
    if valid.empty:
        return None
    if meta.aggregation == "weighted_mean":
        weights = level_values(conn, get_indicator(conn, meta.weight), top, period)
        joined = valid.merge(weights[weights["status"] == "valid"], on="region_id")
        total = joined["value_y"].sum()
        return float((joined["value_x"] * joined["value_y"]).sum() / total) if total else None
    return float(valid["value"].sum())


def apply_small_numbers(
    conn: Connection,
    meta: IndicatorMeta,
    target: Level,
    period: date,
    rows: pd.DataFrame,
    notes: list[str],
) -> pd.DataFrame:
    """Suppress values of regions with fewer inhabitants than the indicator's threshold; a
    value of a region whose population is unknown is suppressed too (it may be small).

    The population of the same period is used, else that of the nearest period on record.
    """
    if not meta.min_population or rows.empty:
        return rows
    try:
        population = get_indicator(conn, POPULATION)
    except NotFound:
        return rows
    periods = stored_periods(conn, population, target.system_id)
    if not periods:
        return rows
    nearest = min(periods, key=lambda p: abs((p - period).days))
    if nearest != period:
        notes.append(
            f"small-number rule applied with the population of {nearest:%d.%m.%Y} "
            f"(none for {period:%d.%m.%Y})"
        )
    people = level_values(conn, population, target, nearest).set_index("region_id")["value"]
    counted = rows["region_id"].map(people)
    small = (counted < meta.min_population) | (counted.isna() & (rows["status"] == "valid"))
    rows = rows.copy()
    rows.loc[small, "status"] = "suppressed"
    rows.loc[small, "value"] = np.nan
    return rows


def _has_values(conn: Connection, indicator_id: int, level_id: int, period: date) -> bool:
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


def _finer_level_with_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date
) -> Level:
    finer = sorted(
        (lvl for lvl in levels_of(conn, target.system_id) if lvl.rank > target.rank),
        key=lambda lvl: lvl.rank,
    )
    for level in finer:
        if _has_values(conn, meta.id, level.id, period):
            return level
    raise NotFound(
        f"no values of {meta.key} for {period:%d.%m.%Y} in {target.system} at {target.key} "
        "or a finer level"
    )


def _stored(conn: Connection, indicator_id: int, level_id: int, period: date) -> pd.DataFrame:
    return _frame(
        conn,
        """
        SELECT r.id AS region_id, r.code, r.name, r.parent_code, v.value,
               coalesce(v.status, 'no_data') AS status, false AS partial
        FROM regions r
        LEFT JOIN statistic_values v ON v.region_id = r.id AND v.indicator_id = :i
             AND v.period = :p
        WHERE r.level_id = :l ORDER BY r.code
        """,
        {"i": indicator_id, "p": period, "l": level_id},
    )


def _aggregated_sum(
    conn: Connection, indicator_id: int, source: Level, target: Level, period: date
) -> pd.DataFrame:
    return _frame(
        conn,
        ANCESTORS
        + """
        SELECT t.id AS region_id, t.code, t.name, t.parent_code,
               sum(v.value) FILTER (WHERE v.status = 'valid') AS value,
               CASE WHEN count(*) FILTER (WHERE v.status = 'valid') = 0 THEN 'no_data'
                    ELSE 'valid' END AS status,
               count(*) FILTER (WHERE v.status = 'valid') < count(a.base_id) AS partial
        FROM regions t
        LEFT JOIN ancestors a ON a.target_id = t.id
        LEFT JOIN statistic_values v ON v.region_id = a.base_id AND v.indicator_id = :i
             AND v.period = :p
        WHERE t.level_id = :target
        GROUP BY t.id ORDER BY t.code
        """,
        {
            "i": indicator_id,
            "p": period,
            "source": source.id,
            "target": target.id,
            "target_rank": target.rank,
        },
    )


def _weighted(
    conn: Connection, meta: IndicatorMeta, source: Level, target: Level, period: date
) -> pd.DataFrame:
    weight = get_indicator(conn, meta.weight)
    return _frame(
        conn,
        ANCESTORS
        + """
        , pairs AS (
            SELECT a.target_id, x.value AS x, w.value AS w,
                   (x.status = 'valid' AND w.status = 'valid') AS ok
            FROM ancestors a
            LEFT JOIN statistic_values x ON x.region_id = a.base_id AND x.indicator_id = :i
                 AND x.period = :p
            LEFT JOIN statistic_values w ON w.region_id = a.base_id AND w.indicator_id = :w
                 AND w.period = :p
        )
        SELECT t.id AS region_id, t.code, t.name, t.parent_code,
               sum(x * w) FILTER (WHERE ok) / nullif(sum(w) FILTER (WHERE ok), 0) AS value,
               CASE WHEN coalesce(sum(w) FILTER (WHERE ok), 0) = 0 THEN 'no_data'
                    ELSE 'valid' END AS status,
               count(*) FILTER (WHERE ok) < count(*) AS partial
        FROM regions t LEFT JOIN pairs ON pairs.target_id = t.id
        WHERE t.level_id = :target
        GROUP BY t.id ORDER BY t.code
        """,
        {
            "i": meta.id,
            "w": weight.id,
            "p": period,
            "source": source.id,
            "target": target.id,
            "target_rank": target.rank,
        },
    )


def _divide(numerator: pd.DataFrame, denominator: pd.DataFrame, scale: float) -> pd.DataFrame:
    rows = numerator.drop(columns=["value", "status", "partial"]).copy()
    num, den = numerator["value"].to_numpy(float), denominator["value"].to_numpy(float)
    ok = (
        (numerator["status"].to_numpy() == "valid")
        & (denominator["status"].to_numpy() == "valid")
        & (den != 0)
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        rows["value"] = np.where(ok, num / np.where(ok, den, 1) * scale, np.nan)
    rows["status"] = np.where(ok, "valid", "no_data")
    rows["partial"] = numerator["partial"].to_numpy() | denominator["partial"].to_numpy()
    return rows


def _frame(conn: Connection, sql: str, params: dict) -> pd.DataFrame:
    result = conn.execute(text(sql), params)
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    frame["value"] = frame["value"].astype(float)
    frame["partial"] = frame["partial"].astype(bool)
    return frame
