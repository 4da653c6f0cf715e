"""The one registry of evaluators by indicator rule: how an indicator's values at a level, its
periods, its city value and its inputs are found.

``formula`` and ``composite`` indicators compute from other indicators, the aggregation rules
(``sum``, ``ratio``, ``weighted_mean``, ``none``) from stored values (``layers.aggregate``).
Evaluators never import each other: each receives the registry (:data:`EVALUATE`) to ask for
the values of its inputs.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Connection

from layers.aggregate import stored_rule_city, stored_rule_periods, stored_rule_values
from layers.composite import CompositeIndex, composite_table, composite_values
from layers.derived import expression_city_value, expression_periods, expression_values, references
from layers.levels import Level
from layers.meta import Evaluate, IndicatorMeta, get_indicator


@dataclass(frozen=True)
class Evaluator:
    values: Callable[[Connection, IndicatorMeta, Level, date, Evaluate], pd.DataFrame]
    periods: Callable[[Connection, IndicatorMeta, int, Evaluate], list[date]]
    city: Callable[[Connection, IndicatorMeta, Level, date, Evaluate], float | None]
    inputs: Callable[[IndicatorMeta], list[str]]


def _composite_periods(
    conn: Connection, meta: IndicatorMeta, system_id: int, ev: Evaluate
) -> list[date]:
    first = _composite_inputs(meta)[0]
    return ev.periods(conn, get_indicator(conn, first), system_id)


def _composite_inputs(meta: IndicatorMeta) -> list[str]:
    definition = meta.definition["composite"]
    indices = [definition["index"], *([definition["other"]] if "other" in definition else [])]
    return [c["indicator"] for index in indices for c in index["components"]]


def _stored_inputs(meta: IndicatorMeta) -> list[str]:
    return [k for k in (meta.numerator, meta.denominator, meta.weight) if k]


_STORED = Evaluator(stored_rule_values, stored_rule_periods, stored_rule_city, _stored_inputs)
EVALUATORS: dict[str, Evaluator] = {
    "formula": Evaluator(
        expression_values,
        expression_periods,
        expression_city_value,
        lambda meta: list(dict.fromkeys(ref.name for ref in references(meta.expression))),
    ),
    "composite": Evaluator(
        lambda conn, meta, target, period, ev: composite_values(
            conn, meta.definition["composite"], target, period, ev
        ),
        _composite_periods,
        lambda conn, meta, top, period, ev: None,  # an index has no city value
        _composite_inputs,
    ),
    "sum": _STORED,
    "ratio": _STORED,
    "weighted_mean": _STORED,
    "none": _STORED,
}


def evaluator_of(meta: IndicatorMeta) -> Evaluator:
    return EVALUATORS[meta.rule]


class ValuesMemo:
    """Level values already computed on one database connection, keyed by the indicator's
    data version (read before computing), so an entry is never used once its inputs changed;
    bounded in rows. Formulas, ratios, composites and the small-number rules ask for the same
    inputs again and again (the population of every level for every rate)."""

    KEY = "sozialraum.level_values"

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.rows = 0
        self.entries: OrderedDict[tuple, pd.DataFrame] = OrderedDict()

    @classmethod
    def of(cls, conn: Connection) -> ValuesMemo:
        memo = conn.info.get(cls.KEY)
        if memo is None:
            memo = conn.info[cls.KEY] = cls(MEMO_ROWS)
        return memo

    def get(self, key: tuple) -> pd.DataFrame | None:
        found = self.entries.get(key)
        if found is not None:
            self.entries.move_to_end(key)
        return found

    def put(self, key: tuple, frame: pd.DataFrame) -> None:
        self.entries[key] = frame
        self.rows += len(frame)
        while self.rows > self.max_rows and len(self.entries) > 1:
            _, dropped = self.entries.popitem(last=False)
            self.rows -= len(dropped)


MEMO_ROWS = 1_000_000  # rows of level values kept per connection
_VERSION = text("SELECT version FROM data_versions WHERE system_id = :s AND indicator_id = :i")


class _Registry:
    """:class:`layers.meta.Evaluate` by the registry."""

    def values(
        self, conn: Connection, meta: IndicatorMeta, target: Level, period: date
    ) -> pd.DataFrame:
        version = conn.execute(_VERSION, {"s": target.system_id, "i": meta.id}).scalar()
        key = (meta.id, target.id, period, version)
        memo = ValuesMemo.of(conn)
        found = memo.get(key) if version is not None else None
        if found is None:
            found = evaluator_of(meta).values(conn, meta, target, period, self)
            if version is not None:
                memo.put(key, found)
        return found.copy()

    def periods(self, conn: Connection, meta: IndicatorMeta, system_id: int) -> list[date]:
        return evaluator_of(meta).periods(conn, meta, system_id, self)

    def city(self, conn: Connection, meta: IndicatorMeta, top: Level, period: date) -> float | None:
        return evaluator_of(meta).city(conn, meta, top, period, self)


EVALUATE: Evaluate = _Registry()


def level_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date
) -> pd.DataFrame:
    """Per region of ``target``: value, status, partial (before small-number rules)."""
    return EVALUATE.values(conn, meta, target, period)


def stored_periods(conn: Connection, meta: IndicatorMeta, system_id: int) -> list[date]:
    """Periods for which the indicator can be computed in the system."""
    return EVALUATE.periods(conn, meta, system_id)


def city_value(conn: Connection, meta: IndicatorMeta, top: Level, period: date) -> float | None:
    """The indicator for the whole system."""
    return EVALUATE.city(conn, meta, top, period)


def inputs_of(meta: IndicatorMeta) -> list[str]:
    """The indicators this one is computed from (directly)."""
    return evaluator_of(meta).inputs(meta)


def index_table(
    conn: Connection, index: CompositeIndex, system: str, level: str, period: date
) -> pd.DataFrame:
    """A composite index with its classes per region (``layers.composite.composite_table``)."""
    return composite_table(conn, index, system, level, period, EVALUATE)
