"""Any catalog indicator for (region system, level, period) as it is published: per-region
values with status and a ``partial`` flag, the parent region's value and the city value.

Tables are read from the indicator store (``layers.materialize``) where it holds them.
The values come from the evaluator of the indicator's rule (``layers.evaluators``); the
small-number rules (``layers.suppression``) then decide which are ``suppressed``. Parent values
are read from the published table of the parent level, so a hidden value never reappears as a
parent's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from layers.evaluators import city_value, level_values, stored_periods
from layers.levels import Level, get_level, levels_of
from layers.materialize import stored_table
from layers.meta import COLUMNS, POPULATION, IndicatorMeta, get_indicator
from layers.suppression import published_values

__all__ = [
    "COLUMNS",
    "POPULATION",
    "IndicatorMeta",
    "IndicatorTable",
    "get_indicator",
    "indicator_table",
    "level_values",
    "published_values",
    "stored_periods",
]


@dataclass
class IndicatorTable:
    """The indicator at one level and period: rows plus the reference values."""

    indicator: IndicatorMeta
    level: Level
    period: date
    rows: pd.DataFrame  # code, name, value, status, partial, parent_code, parent_value
    city_value: float | None
    notes: list[str] = field(default_factory=list)


def indicator_table(
    conn: Connection, system: str, level: str, key: str, period: date
) -> IndicatorTable:
    """The indicator at ``level`` for ``period`` with parent and city reference values: from
    the indicator store when it holds the table, else computed (and not kept)."""
    target = get_level(conn, system, level)
    meta = get_indicator(conn, key)
    stored = stored_table(conn, meta, target, period)
    if stored is not None:
        return IndicatorTable(meta, target, period, *stored)
    notes: list[str] = []
    rows = published_values(conn, meta, target, period, notes)
    levels = levels_of(conn, target.system_id)
    coarser = [lvl for lvl in levels if lvl.rank < target.rank]
    rows["parent_value"] = np.nan
    if coarser and meta.aggregation != "none":
        parent = published_values(conn, meta, coarser[-1], period, []).set_index("code")
        valid = parent["value"].where(parent["status"] == "valid")
        rows["parent_value"] = rows["parent_code"].map(valid)
    city = city_value(conn, meta, levels[0], period)
    return IndicatorTable(meta, target, period, rows, city, notes)
