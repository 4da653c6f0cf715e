"""The small-number rules: which values of an indicator are not published, decided here once.

Each indicator follows one of two rules (``small_numbers`` in the catalog):

* **reliability** (the default): a value of a region with fewer inhabitants than
  ``min_population`` is not shown, because a rate on so small a base says little. A region whose
  population is unknown counts as too small. Its inputs may still be published.
* **disclosure**: a count (for a ratio: its numerator) under ``min_count`` is under statistical
  secrecy and must not be recoverable. It is hidden at every level, together with the
  indicator's inputs at the same region (numerator and denominator of a ratio) and its declared
  complements; and where a hidden cell could be recovered as "parent minus the visible
  children" (or a hidden parent as the sum of its children), further cells are hidden: the
  smallest visible sibling, or the smallest child, until no group has a single unknown.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from itertools import pairwise

import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection

from layers.errors import LayerError, NotFound
from layers.evaluators import inputs_of, level_values, stored_periods
from layers.levels import Level, ancestor_ids, levels_of
from layers.meta import POPULATION, IndicatorMeta, all_indicators, get_indicator


def reliability_mask(
    conn: Connection,
    meta: IndicatorMeta,
    target: Level,
    period: date,
    rows: pd.DataFrame,
    notes: list[str],
) -> np.ndarray:
    """Regions of ``rows`` with fewer inhabitants than the indicator's threshold, or with an
    unknown population. The population of the same period is used, else that of the nearest
    period on record (said in ``notes``)."""
    small = np.zeros(len(rows), dtype=bool)
    if not meta.min_population or meta.small_numbers != "reliability" or rows.empty:
        return small
    try:
        population = get_indicator(conn, POPULATION)
    except NotFound:
        return small
    periods = stored_periods(conn, population, target.system_id)
    if not periods:
        return small
    nearest = min(periods, key=lambda p: abs((p - period).days))
    if nearest != period:
        notes.append(
            f"small-number rule applied with the population of {nearest:%d.%m.%Y} "
            f"(none for {period:%d.%m.%Y})"
        )
    people = level_values(conn, population, target, nearest).set_index("region_id")["value"]
    counted = rows["region_id"].map(people)
    unknown = counted.isna() & (rows["status"] == "valid")
    return ((counted < meta.min_population) | unknown).to_numpy()


def hidden_by_disclosure(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date
) -> set[int]:
    """Region ids of ``target`` where ``meta`` is hidden by the disclosure rule of itself or of
    an indicator it is an input or a complement of."""
    hidden: set[int] = set()
    for rule in disclosing(conn, meta):
        try:
            masks = disclosure_masks(conn, rule, target.system_id, period)
        except LayerError:  # the rule's indicator has no values for this period
            continue
        hidden |= masks.get(target.id, set())
    return hidden


def disclosing(conn: Connection, meta: IndicatorMeta) -> list[IndicatorMeta]:
    """The indicators under a disclosure rule whose hidden cells ``meta`` must share."""
    return [
        rule
        for rule in all_indicators(conn)
        if rule.small_numbers == "disclosure"
        and rule.min_count
        and meta.key in {rule.key, *inputs_of(rule), *rule.complements}
    ]


def disclosure_masks(
    conn: Connection, rule: IndicatorMeta, system_id: int, period: date
) -> dict[int, set[int]]:
    """Level id → ids of the regions where ``rule`` is hidden (primary and secondary)."""
    if period not in stored_periods(conn, rule, system_id):
        return {}
    counted = get_indicator(conn, rule.numerator) if rule.rule == "ratio" else rule
    levels = levels_of(conn, system_id)
    counts: dict[int, pd.Series] = {}
    hidden: dict[int, set[int]] = {}
    for level in levels:
        rows = level_values(conn, counted, level, period)
        valid = rows[rows["status"] == "valid"].set_index("region_id")["value"]
        counts[level.id] = valid
        hidden[level.id] = set(valid.index[valid < rule.min_count])
    links = [
        (parent.id, child.id, _children(conn, child, parent)) for parent, child in pairwise(levels)
    ]
    _protect_groups(levels[0].id, links, counts, hidden)
    return hidden


def _children(conn: Connection, child: Level, parent: Level) -> dict[int, list[int]]:
    groups: dict[int, list[int]] = defaultdict(list)
    for child_id, parent_id in ancestor_ids(conn, child, parent).items():
        groups[parent_id].append(child_id)
    return groups


def _protect_groups(
    top: int,
    links: list[tuple[int, int, dict[int, list[int]]]],
    counts: dict[int, pd.Series],
    hidden: dict[int, set[int]],
) -> None:
    """Secondary suppression until no group of siblings under a parent (the coarsest level
    under the published city total) lets a hidden cell be computed back."""
    changed = True
    while changed:
        changed = _protect(False, list(counts[top].index), counts[top], hidden[top])
        for parent_level, child_level, groups in links:
            for parent, kids in groups.items():
                valid_kids = [k for k in kids if k in counts[child_level].index]
                parent_hidden = parent in hidden[parent_level]
                if _protect(parent_hidden, valid_kids, counts[child_level], hidden[child_level]):
                    changed = True
                elif (
                    not parent_hidden
                    and len(valid_kids) == 1
                    and valid_kids[0] in hidden[child_level]
                    and parent in counts[parent_level].index
                ):  # an only child equals its parent
                    hidden[parent_level].add(parent)
                    changed = True


def _protect(parent_hidden: bool, kids: list[int], counts: pd.Series, hidden: set[int]) -> bool:
    """Hide one more of ``kids`` where one unknown could be computed from the others; True if
    a cell was hidden."""
    unknown = [k for k in kids if k in hidden]
    visible = [k for k in kids if k not in hidden]
    recoverable = (parent_hidden and not unknown) or (not parent_hidden and len(unknown) == 1)
    if not recoverable or not visible:
        return False
    hidden.add(min(visible, key=lambda k: (counts[k], k)))
    return True


def published_values(
    conn: Connection, meta: IndicatorMeta, target: Level, period: date, notes: list[str]
) -> pd.DataFrame:
    """The values per region of ``target`` with the small-number rules applied."""
    rows = level_values(conn, meta, target, period).copy()
    if rows.empty:
        return rows
    hidden = reliability_mask(conn, meta, target, period, rows, notes)
    disclosed = hidden_by_disclosure(conn, meta, target, period)
    if disclosed:
        valid = (rows["status"] == "valid").to_numpy()
        hidden = hidden | (rows["region_id"].isin(disclosed).to_numpy() & valid)
    rows.loc[hidden, "status"] = "suppressed"
    rows.loc[hidden, "value"] = np.nan
    return rows
