"""What the analysis layer knows of a catalog indicator: its rule of aggregation, its formula or
composite, its small-number rule, and the inputs it is computed from.

Every part of the layer reads an indicator through :class:`IndicatorMeta`; which evaluator
computes it is decided once, by :attr:`IndicatorMeta.rule` (see ``layers.evaluators``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Protocol

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.errors import NotFound
from layers.levels import Level

POPULATION = "inhabitants"
# the columns of a level's values, before the reference values are added
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

    @property
    def rule(self) -> str:
        """How the indicator is computed: ``formula``, ``composite`` or its aggregation rule
        (``sum``, ``ratio``, ``weighted_mean``, ``none``) over stored values."""
        if self.expression:
            return "formula"
        if "composite" in self.definition:
            return "composite"
        return self.aggregation

    @property
    def small_numbers(self) -> str:
        """``reliability`` (a rate on a too small population is not shown; its published inputs
        may be) or ``disclosure`` (a count under ``min_count`` must not be recoverable)."""
        return self.definition.get("small_numbers", "reliability")

    @property
    def min_count(self) -> int | None:
        return self.definition.get("min_count")

    @property
    def complements(self) -> list[str]:
        """Indicators that, with this one, add up to a published total."""
        return list(self.definition.get("complements", []))


_META = (
    "SELECT id, key, name_de, unit, kind, aggregation, numerator, denominator, weight, "
    "decimals, polarity, min_population, definition FROM indicators "
)


def get_indicator(conn: Connection, key: str) -> IndicatorMeta:
    row = conn.execute(text(_META + "WHERE key = :k"), {"k": key}).first()
    if row is None:
        raise NotFound(f"unknown indicator {key!r}; see: sozialraum indicators list")
    return _meta(row)


def all_indicators(conn: Connection) -> list[IndicatorMeta]:
    return [_meta(row) for row in conn.execute(text(_META + "ORDER BY key"))]


def _meta(row) -> IndicatorMeta:
    return IndicatorMeta(**{**row._mapping, "definition": row.definition or {}})


def frame(conn: Connection, sql: str, params: dict) -> pd.DataFrame:
    """A query's rows as a level frame (``COLUMNS``; value float, partial bool)."""
    result = conn.execute(text(sql), params)
    rows = pd.DataFrame(result.all(), columns=list(result.keys()))
    if rows.empty:
        return pd.DataFrame(columns=COLUMNS)
    rows["value"] = rows["value"].astype(float)
    rows["partial"] = rows["partial"].astype(bool)
    return rows


class Evaluate(Protocol):
    """What an evaluator may ask of the others (``layers.evaluators`` implements it): the
    values of any indicator at a level, its periods and its city value. Evaluators receive it
    as a parameter, so none of them imports another."""

    def values(
        self, conn: Connection, meta: IndicatorMeta, target: Level, period: date
    ) -> pd.DataFrame: ...

    def periods(self, conn: Connection, meta: IndicatorMeta, system_id: int) -> list[date]: ...

    def city(
        self, conn: Connection, meta: IndicatorMeta, top: Level, period: date
    ) -> float | None: ...
