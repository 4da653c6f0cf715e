"""Statistics ingest: tables per region and period → long-format values in the store.

A source manifest (``data/statistics/<key>.toml``) names the catalog, the region system and
level, the code column, the period of each file (or a period column), the column → indicator
mapping, missing-value markers, sentinels and a validity column. Values are parsed and matched
to regions by code before anything is written; then one transaction writes them with COPY.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ingest.catalog import Catalog, all_catalogs, load_catalog, upsert_catalog
from ingest.errors import IngestError
from ingest.names import normalise_name
from ingest.runs import JobResult, finish_run, start_run, unchanged_run
from ingest.sources import companion_files, fetch_url, input_checksum, resolve_source
from ingest.statistics_source import StatisticsSource, load_statistics_source, read_values
from ingest.upload import copy_rows
from spatial.settings import DataSettings

EXAMPLES = 5


def ingest_statistics(
    engine: Engine,
    key: str,
    settings: DataSettings,
    *,
    force: bool = False,
    skip_unknown: bool = False,
    step=None,
) -> JobResult:
    """Load one statistics source described in a manifest."""
    step = step or (lambda _msg: None)
    spec = load_statistics_source(settings.pack_dirs("statistics"), key)
    inputs = []
    for period, source in spec.files():
        step(f"reading {source.title}")
        inputs.append((period, resolve_source(source, settings)))
    catalogs = [load_catalog(settings.catalog_dirs(), key) for key in spec.catalog_keys]
    return load_statistics(
        engine, spec, catalogs, inputs, force=force, skip_unknown=skip_unknown, step=step
    )


def ingest_statistics_file(
    engine: Engine,
    file: str,
    settings: DataSettings,
    *,
    system: str,
    level: str,
    code_column: str,
    columns: dict[str, str],
    period: date | None = None,
    key: str | None = None,
    force: bool = False,
    skip_unknown: bool = False,
    step=None,
    **options,
) -> JobResult:
    """Load an ad-hoc table (a path or URL) without a manifest.

    ``columns`` maps table columns to catalog indicators, which must all be in one catalog;
    ``period`` dates the whole file, or ``period_column`` (in ``options``) gives it per row.
    The other ``options`` are those of a statistics manifest (decimal, missing, sentinels, …).
    """
    path = fetch_url(file, settings) if file.startswith(("http://", "https://")) else Path(file)
    if period is None and not options.get("period_column"):
        raise IngestError("give the period of the file (--period) or a --period-column")
    catalog = _catalog_holding(settings.catalog_dirs(), set(columns.values()))
    spec = StatisticsSource(
        key=key or f"file-{Path(path).stem}",
        title=Path(file).name,
        catalog=catalog.key,
        system=system,
        level=level,
        code_column=code_column,
        columns=columns,
        **options,
    )
    return load_statistics(
        engine, spec, [catalog], [(period, path)], force=force, skip_unknown=skip_unknown, step=step
    )


def _catalog_holding(catalog_dir: list[Path], indicators: set[str]) -> Catalog:
    catalogs = all_catalogs(catalog_dir)
    for catalog in catalogs:
        if indicators <= {i.key for i in catalog.indicators}:
            return catalog
    known = {i.key for c in catalogs for i in c.indicators}
    missing = sorted(indicators - known)
    if missing:
        raise IngestError(
            f"unknown indicators {', '.join(missing)}; see: sozialraum indicators list"
        )
    raise IngestError("the indicators belong to different catalogs; load them one catalog a time")


def load_statistics(
    engine: Engine,
    spec: StatisticsSource,
    catalogs: list[Catalog],
    inputs: list[tuple[date | None, Path]],
    *,
    force: bool = False,
    skip_unknown: bool = False,
    step=None,
) -> JobResult:
    """Read, validate and match every file of ``spec``, then write all values in one run."""
    step = step or (lambda _msg: None)
    known = {i.key for catalog in catalogs for i in catalog.indicators}
    unknown = sorted(spec.indicators - known)
    if unknown:
        named = ", ".join(repr(c.key) for c in catalogs)
        raise IngestError(f"columns map to indicators not in catalog {named}: {', '.join(unknown)}")
    if spec.levels:
        regions, code_length, region_names = _codes_of_levels(engine, spec), None, {}
    else:
        regions, code_length, region_names = _regions_of(engine, spec.system, spec.level)
    names = _names_of(region_names, spec) if spec.name_column else None
    frames, notes, files = [], [], []
    for period, path in inputs:
        files.extend(companion_files(path))
        frame, file_notes = read_values(path, period, spec, code_length, names)
        frames.append(frame)
        notes.extend(file_notes)
    values = pd.concat(frames, ignore_index=True)
    values = _check_totals(values, spec, catalogs, notes)
    if spec.levels:
        values = _route_by_code(values, regions, spec, notes)
    values = _match_regions(values, regions, spec, engine, skip_unknown, notes)
    _check_duplicates(values)
    checksum = input_checksum(
        files,
        {
            "source": spec.model_dump(mode="json"),
            "catalog": [c.model_dump(mode="json") for c in catalogs],
        },
    )
    return _write(engine, spec, catalogs, values, checksum, force, notes, step)


def _codes_of_levels(engine: Engine, spec: StatisticsSource) -> dict[str, int]:
    """Code → region id over the source's levels; the levels' codes must differ, or a key
    could not tell its level."""
    out: dict[str, int] = {}
    for level in dict.fromkeys([*spec.levels, spec.level]):
        regions, _length, _names = _regions_of(engine, spec.system, level)
        shared = sorted(set(regions) & set(out))
        if shared:
            raise IngestError(
                f"{spec.system}: code {shared[0]!r} exists at level {level} and another of "
                f"{', '.join(spec.levels)}: keys cannot tell the level; load one level a time"
            )
        out.update(regions)
    return out


def _route_by_code(
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


def _names_of(region_names: dict[str, str], spec: StatisticsSource) -> dict[str, str]:
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


def _check_totals(
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


def _regions_of(
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


def _match_regions(
    values: pd.DataFrame,
    regions: dict[str, int],
    spec: StatisticsSource,
    engine: Engine,
    skip_unknown: bool,
    notes: list[str],
) -> pd.DataFrame:
    values["region_id"] = values["code"].map(regions)
    unknown = values[values["region_id"].isna()].drop_duplicates("code")
    if unknown.empty:
        return values
    codes = unknown["code"].tolist()
    listed = ", ".join(
        f"{r.code} ({r.file} line {r.line})" for r in unknown.head(EXAMPLES).itertuples()
    )
    what = "region names" if spec.name_column else "region codes"
    hint = "" if spec.name_column else _other_systems_hint(engine, spec, codes)
    if skip_unknown:
        notes.append(f"skipped {len(codes)} unknown {what} (no geometry): {listed}{hint}")
        return values[values["region_id"].notna()].copy()
    raise IngestError(
        f"{len(codes)} {what} do not exist in {spec.system}/{'|'.join(spec.levels) or spec.level}"
        " (no geometry): "
        f"{listed}{hint}; --skip-unknown skips them"
    )


def _other_systems_hint(engine: Engine, spec: StatisticsSource, codes: list[str]) -> str:
    with engine.connect() as conn:
        other = conn.execute(
            text(
                "SELECT s.key, count(DISTINCT r.code) FROM regions r JOIN region_systems s "
                "ON s.id = r.system_id WHERE s.key <> :s AND r.code = ANY(:codes) GROUP BY s.key "
                "ORDER BY 2 DESC LIMIT 1"
            ),
            {"s": spec.system, "codes": codes},
        ).first()
    if other is None:
        return ""
    return f" ({other[1]} of them are codes of {other[0]}: another system version?)"


def _check_duplicates(values: pd.DataFrame) -> None:
    dupes = values[values.duplicated(["indicator", "region_id", "period"], keep=False)]
    if dupes.empty:
        return
    first = dupes.iloc[0]
    same = dupes[
        (dupes["indicator"] == first.indicator)
        & (dupes["code"] == first.code)
        & (dupes["period"] == first.period)
    ]
    where = " and ".join(f"{r.file} line {r.line}" for r in same.itertuples())
    raise IngestError(f"duplicate row for region {first.code} and period {first.period}: {where}")


def _credit(
    conn, spec: StatisticsSource, catalog: Catalog, indicator_ids: list[int], run_id: int
) -> None:
    """The values of these indicators in the source's system are credited to the source."""
    conn.execute(
        text(
            """
            INSERT INTO indicator_credits (indicator_id, system_id, source_key, title, licence,
                                           attribution, run_id)
            SELECT i, s.id, :key, :title, :licence, :attribution, :run
            FROM unnest(CAST(:ids AS int[])) AS i, region_systems s WHERE s.key = :system
            ON CONFLICT (indicator_id, system_id, source_key) DO UPDATE SET
                title = EXCLUDED.title, licence = EXCLUDED.licence,
                attribution = EXCLUDED.attribution, run_id = EXCLUDED.run_id
            """
        ),
        {
            "ids": indicator_ids,
            "system": spec.system,
            "key": spec.key,
            "title": spec.credit_title or spec.title,
            "licence": spec.licence or catalog.licence,
            "attribution": spec.attribution or catalog.attribution,
            "run": run_id,
        },
    )


def _write(
    engine: Engine,
    spec: StatisticsSource,
    catalogs: list[Catalog],
    values: pd.DataFrame,
    checksum: str,
    force: bool,
    notes: list[str],
    step,
) -> JobResult:
    periods = sorted({p for p in values["period"] if p is not None})
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('sozialraum:statistics'))"))
        previous = unchanged_run(conn, "statistics", spec.key, checksum, force)
        if previous is not None:
            return JobResult(
                run_id=previous.id,
                skipped=True,
                message=f"{spec.key} is already loaded from the same data (run {previous.id})",
            )
        ids = {k: v for catalog in catalogs for k, v in upsert_catalog(conn, catalog).items()}
        run_id = start_run(conn, "statistics", spec.key, checksum, {"source": spec.key})
        indicator_ids = sorted({ids[k] for k in values["indicator"].unique()})
        conn.execute(
            text(
                "DELETE FROM statistic_values v USING regions r WHERE r.id = v.region_id "
                "AND v.indicator_id = ANY(:ind) AND v.period = ANY(:periods) "
                "AND r.id = ANY(:regions)"
            ),
            {
                "ind": indicator_ids,
                "periods": periods,
                "regions": sorted({int(x) for x in values["region_id"]}),
            },
        )
        step(f"writing {len(values):,} values")
        copy_rows(
            conn,
            "statistic_values",
            ["indicator_id", "region_id", "period", "value", "status", "run_id"],
            (
                (
                    ids[row.indicator],
                    int(row.region_id),
                    row.period,
                    None if row.status != "valid" else row.value,
                    row.status,
                    run_id,
                )
                for row in values.itertuples(index=False)
            ),
        )
        _credit(conn, spec, catalogs[0], indicator_ids, run_id)
        counts = {k: int(v) for k, v in values.groupby("status").size().items()}
        finish_run(
            conn,
            run_id,
            status="ok",
            counts=counts,
            report={"notes": notes, "periods": [p.isoformat() for p in periods]},
        )
    return JobResult(
        run_id=run_id, skipped=False, counts=counts, notes=notes, details={"periods": periods}
    )
