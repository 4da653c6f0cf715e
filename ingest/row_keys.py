"""Which region each row of a statistics table is about: names matched in their normalised
form (two regions of one name refused), keys of several levels told apart by their length
(lost or padded zeros repaired), total rows compared with the sum of the others and left out."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ingest.catalog import Catalog
from ingest.errors import IngestError
from ingest.names import normalise_name
from ingest.statistics_source import StatisticsSource


def codes_of_levels(engine: Engine, spec: StatisticsSource) -> dict[str, int]:
    """Code → region id over the source's levels; the levels' codes must differ, or a key
    could not tell its level."""
    out: dict[str, int] = {}
    for level in dict.fromkeys([*spec.levels, spec.level]):
        regions, _length, _names = regions_of(engine, spec.system, level)
        shared = sorted(set(regions) & set(out))
        if shared:
            raise IngestError(
                f"{spec.system}: code {shared[0]!r} exists at level {level} and another of "
                f"{', '.join(spec.levels)}: keys cannot tell the level; load one level a time"
            )
        out.update(regions)
    return out


def route_by_code(
    values: pd.DataFrame, regions: dict[str, int], spec: StatisticsSource, notes: list[str]
) -> pd.DataFrame:
    """Each row's key to the code of the level it belongs to: as written, with lost leading
    zeros restored, or without the zeros it was padded to one length with (left or right)."""
    lengths = sorted({len(c) for c in regions})
    resolved: dict[str, str] = {}
    for key in values["code"].dropna().unique():
        key = str(key).strip()
        found = {key} if key in regions else set()
        if key.isdigit():
            for n in lengths:
                if len(key) < n:
                    found |= {key.zfill(n)} & regions.keys()
                elif len(key) > n:
                    if not key[n:].strip("0"):
                        found |= {key[:n]} & regions.keys()
                    if not key[: len(key) - n].strip("0"):
                        found |= {key[-n:]} & regions.keys()
        if len(found) > 1 and key in found:
            found = {key}
        if len(found) > 1:
            lines = values.loc[values["code"] == key, "line"]
            raise IngestError(
                f"key {key!r} (line {lines.iat[0]}) could be any of {', '.join(sorted(found))}: "
                "write it with its full length"
            )
        if found:
            resolved[key] = found.pop()
    changed = {k: v for k, v in resolved.items() if k != v}
    if changed:
        example = next(iter(changed.items()))
        notes.append(
            f"{len(changed)} keys were brought to their level's code length "
            f"(e.g. {example[0]} → {example[1]})"
        )
    values = values.copy()
    values["code"] = values["code"].map(lambda k: resolved.get(str(k).strip(), k))
    return values


def names_of(region_names: dict[str, str], spec: StatisticsSource) -> dict[str, str]:
    """Normalised region name → code; two regions of one name cannot be told apart by name."""
    out: dict[str, str] = {}
    for code, name in sorted(region_names.items()):
        key = normalise_name(name, spec.abbreviations)
        if key in out:
            raise IngestError(
                f"regions {out[key]} and {code} of {spec.system}/{spec.level} are both named "
                f"{name!r}: rows cannot be matched by name; use a code column"
            )
        out[key] = code
    return out


def check_totals(
    values: pd.DataFrame, spec: StatisticsSource, catalogs: list[Catalog], notes: list[str]
) -> pd.DataFrame:
    """Total rows are compared with the sum of the other rows (for summable indicators) and
    left out; the differences are reported."""
    if not spec.total_rows:
        return values
    wanted = {normalise_name(t, spec.abbreviations) for t in spec.total_rows}
    is_total = values["code"].map(lambda c: normalise_name(str(c), spec.abbreviations) in wanted)
    totals, rows = values[is_total], values[~is_total]
    summed = {i.key for c in catalogs for i in c.indicators if i.aggregation == "sum"}
    valid = rows[rows["status"] == "valid"]
    sums = valid.groupby(["indicator", "period"], dropna=False)["value"].sum()
    for total in totals[totals["status"] == "valid"].itertuples():
        if total.indicator not in summed or (total.indicator, total.period) not in sums.index:
            continue
        diff = sums[(total.indicator, total.period)] - total.value
        notes.append(
            f"total row {total.code!r} ({total.file} line {total.line}), {total.indicator}: "
            f"{total.value:,.0f}; the rows add up to {total.value + diff:,.0f} "
            f"(difference {diff:+,.0f})"
        )
    if not totals.empty:
        notes.append(f"{totals['code'].nunique()} total rows checked and not loaded")
    return rows.copy()


def regions_of(
    engine: Engine, system: str, level: str
) -> tuple[dict[str, int], int | None, dict[str, str]]:
    with engine.connect() as conn:
        length = conn.execute(
            text(
                "SELECT l.code_length FROM region_levels l "
                "JOIN region_systems s ON s.id = l.system_id "
                "WHERE s.key = :s AND l.key = :l"
            ),
            {"s": system, "l": level},
        ).first()
        if length is None:
            raise IngestError(
                f"region level {system}/{level} is not loaded; run: sozialraum "
                f"ingest boundaries --system {system}"
            )
        rows = conn.execute(
            text(
                "SELECT r.code, r.id, r.name FROM regions r JOIN region_levels l "
                "ON l.id = r.level_id JOIN region_systems s ON s.id = r.system_id "
                "WHERE s.key = :s AND l.key = :l"
            ),
            {"s": system, "l": level},
        ).all()
    return {r.code: r.id for r in rows}, length[0], {r.code: r.name for r in rows}
