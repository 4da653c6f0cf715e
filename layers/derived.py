"""Derived indicators: declared in the catalog as a formula over other indicators, evaluated
at any level from the inputs at that level (so a share is always a ratio of sums).

The formula language is a small, safe subset of arithmetic::

    kita_places / inhabitants_age_below_6 * 100
    change_2y(inhabitants)              # x(period) - x(period - 24 months)
    rel_change(inhabitants, 12)         # percent change over 12 months
    change(inhabitants, 6), previous(inhabitants, 24), at(inhabitants, "2021-12-31")
    pflegeeinrichtung_places / nearest(inhabitants_age_above_65) * 1000

Names are catalog indicators; numbers, ``+ - * /``, unary minus and parentheses are allowed,
nothing else. A region whose result is not a finite number (an input without a valid value,
division by zero) is ``no_data``; an unknown name or a missing period is an error with a
clear message.
"""

from __future__ import annotations

import ast
import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from layers.errors import NotComputable, NotFound
from layers.levels import Level
from layers.meta import Evaluate, IndicatorMeta, get_indicator

# function name → number of arguments
FUNCTIONS = {
    "previous": 2,
    "change": 2,
    "rel_change": 2,
    "change_2y": 1,
    "rel_change_2y": 1,
    "at": 2,
    "nearest": 1,
}
_OPERATORS = {ast.Add: np.add, ast.Sub: np.subtract, ast.Mult: np.multiply, ast.Div: np.divide}


@dataclass(frozen=True)
class Ref:
    """One input of a formula: an indicator at the period asked for, shifted, fixed or nearest."""

    name: str
    months: int = 0
    fixed: date | None = None
    nearest: bool = False


class ExpressionError(ValueError):
    """The formula is not valid in the expression language."""


def parse(expression: str) -> ast.expr:
    """Parse and check a formula; raises ExpressionError with the offending part."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError as exc:
        raise ExpressionError(f"cannot read {expression!r}: {exc.msg}") from exc
    _check(tree, expression)
    return tree


def references(expression: str) -> list[Ref]:
    """The inputs a formula reads, in order of appearance."""
    found: list[Ref] = []

    def note(ref: Ref) -> np.ndarray:
        found.append(ref)
        return np.ones(1)

    _walk(parse(expression), note)
    return found


def expression_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date, ev: Evaluate
) -> pd.DataFrame:
    """The derived indicator per region of ``target`` (value, status, partial)."""
    tree = parse(meta.expression)
    base: pd.DataFrame | None = None
    partial: np.ndarray | None = None
    seen: dict[Ref, np.ndarray] = {}  # an input used twice is read once

    def resolve(ref: Ref) -> np.ndarray:
        nonlocal base, partial
        if ref in seen:
            return seen[ref]
        indicator = _input(conn, meta, ref.name)
        at = _period_of(conn, ref, indicator, target, period, ev)
        frame = ev.values(conn, indicator, target, at)
        frame = frame.sort_values("code").reset_index(drop=True)
        if base is None:
            base, partial = frame, frame["partial"].to_numpy(bool)
        partial = partial | frame["partial"].to_numpy(bool)
        seen[ref] = frame["value"].where(frame["status"] == "valid").to_numpy(float)
        return seen[ref]

    with np.errstate(divide="ignore", invalid="ignore"):
        values = np.asarray(_walk(tree, resolve), dtype=float)
    if base is None:  # a formula of constants only
        raise NotComputable(f"{meta.key}: the expression reads no indicator")
    rows = base.drop(columns=["value", "status", "partial"]).copy()
    values = np.broadcast_to(values, (len(rows),))
    ok = np.isfinite(values)
    rows["value"] = np.where(ok, values, np.nan)
    rows["status"] = np.where(ok, "valid", "no_data")
    rows["partial"] = partial
    return rows


def expression_city_value(
    conn: Connection, meta: IndicatorMeta, top: Level, period: date, ev: Evaluate
) -> float | None:
    """The formula over the city totals of its inputs."""

    def resolve(ref: Ref) -> np.ndarray:
        indicator = _input(conn, meta, ref.name)
        at = _period_of(conn, ref, indicator, top, period, ev)
        value = ev.city(conn, indicator, top, at)
        return np.array([np.nan if value is None else value])

    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(np.asarray(_walk(parse(meta.expression), resolve)).ravel()[0])
    return value if np.isfinite(value) else None


def expression_periods(
    conn: Connection, meta: IndicatorMeta, system_id: int, ev: Evaluate
) -> list[date]:
    """Periods for which every input of the formula is on record."""
    candidates: set[date] | None = None
    refs = references(meta.expression)
    for ref in refs:
        if ref.fixed or ref.nearest:
            continue
        on_record = set(ev.periods(conn, _input(conn, meta, ref.name), system_id))
        usable = {p for p in on_record if shift(p, ref.months) in on_record}
        candidates = usable if candidates is None else candidates & usable
    if candidates is None:  # every input is fixed or nearest: follow the first one
        first = _input(conn, meta, refs[0].name)
        candidates = set(ev.periods(conn, first, system_id))
    return sorted(candidates)


def shift(period: date, months: int) -> date:
    """``period`` moved back by ``months``, kept at the end of the month when it was there."""
    index = period.year * 12 + period.month - 1 - months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    at_end = period.day == calendar.monthrange(period.year, period.month)[1]
    return date(year, month + 1, last if at_end else min(period.day, last))


def _input(conn: Connection, meta: IndicatorMeta, name: str) -> IndicatorMeta:
    try:
        return get_indicator(conn, name)
    except NotFound as exc:
        raise NotFound(f"the expression of {meta.key} uses unknown indicator {name!r}") from exc


def _period_of(
    conn: Connection, ref: Ref, indicator: IndicatorMeta, level: Level, period: date, ev: Evaluate
) -> date:
    if ref.fixed:
        return ref.fixed
    if ref.nearest:
        on_record = ev.periods(conn, indicator, level.system_id)
        if not on_record:
            raise NotFound(f"no values of {indicator.key} in {level.system}")
        return min(on_record, key=lambda p: abs((p - period).days))
    return shift(period, ref.months)


def _check(node: ast.AST, expression: str) -> None:
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        _check(node.left, expression)
        _check(node.right, expression)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        _check(node.operand, expression)
    elif isinstance(node, ast.Name) or (
        isinstance(node, ast.Constant) and type(node.value) in (int, float)
    ):
        pass
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExpressionError(
                f"unknown function {name!r} in {expression!r}; known: {', '.join(FUNCTIONS)}"
            )
        if len(node.args) != FUNCTIONS[name] or node.keywords:
            raise ExpressionError(f"{name}() takes {FUNCTIONS[name]} argument(s) in {expression!r}")
        if not isinstance(node.args[0], ast.Name):
            raise ExpressionError(f"the first argument of {name}() must be an indicator name")
        if len(node.args) == 2:
            _argument(name, node.args[1], expression)
    else:
        raise ExpressionError(f"not allowed in an expression: {ast.unparse(node)!r}")


def _argument(function: str, node: ast.expr, expression: str) -> date | int:
    value = node.value if isinstance(node, ast.Constant) else None
    if function == "at":
        try:
            return date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ExpressionError(
                f'at() needs a date like "2021-12-31" in {expression!r}'
            ) from None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ExpressionError(f"{function}() needs a whole number of months in {expression!r}")
    return value


def _walk(node: ast.expr, resolve: Callable[[Ref], np.ndarray]) -> np.ndarray:
    if isinstance(node, ast.BinOp):
        return _OPERATORS[type(node.op)](_walk(node.left, resolve), _walk(node.right, resolve))
    if isinstance(node, ast.UnaryOp):
        value = _walk(node.operand, resolve)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Constant):
        return np.float64(node.value)
    if isinstance(node, ast.Name):
        return resolve(Ref(node.id))
    name, indicator = node.func.id, node.args[0].id
    argument = _argument(name, node.args[1], "") if len(node.args) == 2 else None
    if name == "at":
        return resolve(Ref(indicator, fixed=argument))
    if name == "nearest":
        return resolve(Ref(indicator, nearest=True))
    months = 24 if name.endswith("_2y") else argument
    if name == "previous":
        return resolve(Ref(indicator, months=months))
    now, before = resolve(Ref(indicator)), resolve(Ref(indicator, months=months))
    if name.startswith("change"):
        return now - before
    return (now - before) / before * 100
