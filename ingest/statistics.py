"""Statistics ingest: tables per region and period → long-format values in the store.

A source manifest (``data/statistics/<key>.toml``) names the catalog, the region system and
level, the code column, the period of each file (or a period column), the column → indicator
mapping, missing-value markers, sentinels and a validity column. Values are parsed and matched
to regions by code before anything is written; then one transaction writes them with COPY.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ingest.catalog import Catalog, all_catalogs, load_catalog, upsert_catalog
from ingest.errors import IngestError
from ingest.row_keys import check_totals, codes_of_levels, names_of, regions_of, route_by_code
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
    replace: bool = False,
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
        engine,
        spec,
        catalogs,
        inputs,
        force=force,
        skip_unknown=skip_unknown,
        replace=replace,
        step=step,
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
    replace: bool = False,
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
        # one source per file and period: another period of the same file adds to it
        key=key or f"file-{Path(path).stem}" + (f"-{period.isoformat()}" if period else ""),
        title=Path(file).name,
        catalog=catalog.key,
        system=system,
        level=level,
        code_column=code_column,
        columns=columns,
        # the period is part of what was loaded: the same file for another date is new data
        **({"periods": {period.isoformat(): ""}} if period else {}),
        **options,
    )
    return load_statistics(
        engine,
        spec,
        [catalog],
        [(period, path)],
        force=force,
        skip_unknown=skip_unknown,
        replace=replace,
        step=step,
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
    replace: bool = False,
    step=None,
) -> JobResult:
    """Read, validate and match every file of ``spec``, then write all values in one run.
    Values another source loaded for the same indicator, region and period are refused unless
    ``replace``."""
    step = step or (lambda _msg: None)
    known = {i.key for catalog in catalogs for i in catalog.indicators}
    unknown = sorted(spec.indicators - known)
    if unknown:
        named = ", ".join(repr(c.key) for c in catalogs)
        raise IngestError(f"columns map to indicators not in catalog {named}: {', '.join(unknown)}")
    if spec.levels:
        regions, code_length, region_names = codes_of_levels(engine, spec), None, {}
    else:
        regions, code_length, region_names = regions_of(engine, spec.system, spec.level)
    names = names_of(region_names, spec) if spec.name_column else None
    frames, notes, files = [], [], []
    for period, path in inputs:
        files.extend(companion_files(path))
        frame, file_notes = read_values(path, period, spec, code_length, names)
        check_plausible(frame, catalogs, path)
        frames.append(frame)
        notes.extend(file_notes)
    values = pd.concat(frames, ignore_index=True)
    values = check_totals(values, spec, catalogs, notes)
    if spec.levels:
        values = route_by_code(values, regions, spec, notes)
    values = _match_regions(values, regions, spec, engine, skip_unknown, notes)
    _check_duplicates(values)
    checksum = input_checksum(
        files,
        {
            "source": spec.model_dump(mode="json"),
            "catalog": [c.model_dump(mode="json") for c in catalogs],
        },
    )
    return _write(engine, spec, catalogs, values, checksum, force or replace, replace, notes, step)


def check_plausible(values: pd.DataFrame, catalogs: list[Catalog], path: Path) -> None:
    """Refuse values outside what their indicator's kind allows (a negative count, a share
    over 100), naming file, line, indicator and value."""
    indicators = {i.key: i for catalog in catalogs for i in catalog.indicators}
    valid = values[values["status"] == "valid"]
    for key, rows in valid.groupby("indicator"):
        low, high = indicators[key].plausible_range()
        wrong = rows[(rows["value"] < low) | (rows["value"] > high)]
        if not wrong.empty:
            first = wrong.iloc[0]
            bounds = f"{low:g} to {high:g}" if math.isfinite(high) else f"at least {low:g}"
            raise IngestError(
                f"line {first['line']}: {len(wrong)} implausible value(s) of {key} "
                f"({indicators[key].kind}: {bounds}; min_value/max_value in the catalog "
                "allow others)",
                file=path,
                field=key,
                value=f"{first['value']:g}",
            )


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


def _refuse_foreign(conn, spec: StatisticsSource, cells: dict) -> None:
    """Values another source loaded are not overwritten without being asked to."""
    owners = conn.execute(
        text(
            "SELECT u.source, max(u.id) AS run, count(*) AS n FROM statistic_values v "
            "JOIN unnest(CAST(:ind AS int[]), CAST(:reg AS bigint[]), CAST(:per AS date[])) "
            "AS c(i, r, p) ON v.indicator_id = c.i AND v.region_id = c.r AND v.period = c.p "
            "JOIN ingest_runs u ON u.id = v.run_id WHERE u.source <> :key "
            "GROUP BY u.source ORDER BY 3 DESC"
        ),
        {**cells, "key": spec.key},
    ).all()
    if owners:
        listed = ", ".join(f"{o.n:,} of {o.source} (run {o.run})" for o in owners)
        raise IngestError(
            f"{spec.key} would overwrite values another source loaded: {listed}; "
            "nothing was written (--replace overwrites them)"
        )


def _write(
    engine: Engine,
    spec: StatisticsSource,
    catalogs: list[Catalog],
    values: pd.DataFrame,
    checksum: str,
    force: bool,
    replace: bool,
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
        cells = {
            "ind": [ids[k] for k in values["indicator"]],
            "reg": [int(x) for x in values["region_id"]],
            "per": list(values["period"]),
        }
        if not replace:
            _refuse_foreign(conn, spec, cells)
        # what this source loaded before goes (a region dropped from it too), and the cells
        # it loads now, whoever loaded them
        conn.execute(
            text(
                "DELETE FROM statistic_values v USING ingest_runs u WHERE u.id = v.run_id "
                "AND u.kind = 'statistics' AND u.source = :key"
            ),
            {"key": spec.key},
        )
        conn.execute(
            text(
                "DELETE FROM statistic_values v USING unnest(CAST(:ind AS int[]), "
                "CAST(:reg AS bigint[]), CAST(:per AS date[])) AS c(i, r, p) "
                "WHERE v.indicator_id = c.i AND v.region_id = c.r AND v.period = c.p"
            ),
            cells,
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
