"""Bringing a statistics table as published into one row per region: row filters (keep the
rows of one sex, one nationality), and long tables with one row per region × category pivoted
into one column per category — both declared in the source, never done by hand beforehand."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict

from ingest.errors import IngestError

LINE = "__line"  # the file line of each row, kept through filters and pivots


class Pivot(BaseModel):
    """A long table: ``category_column`` names what ``value_column`` counts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category_column: str
    value_column: str


def require_columns(table: pd.DataFrame, columns: list[str | None], path: Path) -> None:
    for column in columns:
        if column and column not in table.columns:
            shown = ", ".join(c for c in table.columns if c != LINE)
            raise IngestError(f"no such column (columns are: {shown})", file=path, field=column)


def filter_rows(
    table: pd.DataFrame, filters: dict[str, str | list[str]], path: Path
) -> pd.DataFrame:
    """The rows whose cells equal the declared values (any of a list)."""
    require_columns(table, list(filters), path)
    keep = pd.Series(True, index=table.index)
    for column, wanted in filters.items():
        keep &= table[column].isin([wanted] if isinstance(wanted, str) else wanted)
    if not keep.any():
        raise IngestError(f"no row matches the filter {filters}", file=path)
    return table[keep]


def pivot_long(table: pd.DataFrame, pivot: Pivot, keys: list[str], path: Path) -> pd.DataFrame:
    """One row per ``keys`` (the region, and the period column if any) with a column per
    category; a category given twice for one region is an error naming both lines."""
    require_columns(table, [*keys, pivot.category_column, pivot.value_column], path)
    twice = table[table.duplicated([*keys, pivot.category_column], keep=False)]
    if not twice.empty:
        first = twice.iloc[0]
        same = twice[
            (twice[[*keys, pivot.category_column]] == first[[*keys, pivot.category_column]]).all(
                axis=1
            )
        ]
        raise IngestError(
            f"{pivot.category_column} {first[pivot.category_column]!r} appears twice for "
            f"{first[keys[0]]!r}: lines " + ", ".join(str(n) for n in same[LINE]),
            file=path,
        )
    wide = table.pivot(index=keys, columns=pivot.category_column, values=pivot.value_column)
    wide = wide.fillna("").reset_index()
    wide.columns = [str(c) for c in wide.columns]
    lines = table.groupby(keys)[LINE].min().reset_index()
    return wide.merge(lines, on=keys, how="left")
