"""Statistics ingest: tables per region and period → long-format values in the store.

A source manifest (``data/statistics/<key>.toml``) names the catalog, the region system and
level, the code column, the period of each file (or a period column), the column → indicator
mapping, missing-value markers, sentinels and a validity column. Values are parsed and matched
to regions by code before anything is written; then one transaction writes them with COPY.
"""

from __future__ import annotations

import calendar
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.engine import Engine

from ingest.catalog import Catalog, load_catalog, upsert_catalog
from ingest.errors import IngestError
from ingest.manifest import Source, load_toml_model
from ingest.runs import JobResult, finish_run, start_run, unchanged_run
from ingest.sources import companion_files, input_checksum, resolve_source
from ingest.tables import DEFAULT_MISSING, parse_number, read_table
from ingest.upload import copy_rows
from spatial.settings import DataSettings

EXAMPLES = 5


class StatisticsSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    title: str
    catalog: str
    system: str
    level: str
    code_column: str
    columns: dict[str, str] = Field(min_length=1, description="column → indicator key")
    periods: dict[str, str] = Field(default_factory=dict, description="period date → token")
    mirror_template: str | None = None
    url_templates: list[str] = Field(default_factory=list)
    period_column: str | None = None
    period_format: str = "%Y%m"
    decimal: str = Field(default=",", pattern=r"^[,.]$")
    missing: list[str] = Field(default_factory=lambda: list(DEFAULT_MISSING))
    suppressed: list[str] = Field(default_factory=list)
    sentinels: list[float] = Field(default_factory=list)
    validity_column: str | None = None
    valid_values: list[str] = Field(default_factory=list)
    header_row: int = Field(default=0, ge=0)
    sheet: str | None = None
    landing_page: str | None = None
    licence: str | None = None
    attribution: str | None = None

    def files(self) -> list[tuple[date | None, Source]]:
        """One source per period (or a single file when periods come from a column)."""
        tokens = self.periods or {"": ""}
        return [
            (
                date.fromisoformat(period) if period else None,
                Source(
                    title=f"{self.title} {token}".strip(),
                    mirror_path=self.mirror_template.format(token=token)
                    if self.mirror_template
                    else None,
                    urls=[u.format(token=token) for u in self.url_templates],
                    landing_page=self.landing_page,
                    licence=self.licence,
                    attribution=self.attribution,
                ),
            )
            for period, token in tokens.items()
        ]


def load_statistics_source(directory: Path, key: str) -> StatisticsSource:
    return load_toml_model(directory, key, StatisticsSource, "statistics source")


def _period_from(cell: str, fmt: str, path: Path, line: int) -> date:
    try:
        parsed = datetime.strptime(cell, fmt).date()
    except ValueError as exc:
        raise IngestError(
            f"line {line}: period {cell!r} does not match {fmt!r}", file=path
        ) from exc
    if "%d" not in fmt:  # a month means its last day, the usual reference date
        parsed = parsed.replace(day=calendar.monthrange(parsed.year, parsed.month)[1])
    return parsed


def read_values(
    path: Path, period: date | None, spec: StatisticsSource, code_length: int | None
) -> tuple[pd.DataFrame, list[str]]:
    """Long rows (indicator, code, period, value, status, line) from one file, and notes."""
    table = read_table(path, header_row=spec.header_row, sheet=spec.sheet)
    lines = range(spec.header_row + 2, spec.header_row + 2 + len(table))
    for column in [spec.code_column, *spec.columns, spec.validity_column, spec.period_column]:
        if column and column not in table.columns:
            raise IngestError(
                f"no such column (columns are: {', '.join(table.columns)})", file=path, field=column
            )
    notes: list[str] = []
    codes = table[spec.code_column]
    if code_length:
        short = codes.str.fullmatch(r"\d+") & (codes.str.len() < code_length)
        if short.any():
            notes.append(
                f"{path.name}: {int(short.sum())} codes had lost leading zeros and "
                f"were repaired (e.g. {codes[short].iat[0]} → "
                f"{codes[short].iat[0].zfill(code_length)})"
            )
            codes = codes.where(~short, codes.str.zfill(code_length))
    if spec.period_column:
        periods = [
            _period_from(c, spec.period_format, path, n)
            for c, n in zip(table[spec.period_column], lines, strict=True)
        ]
    else:
        periods = [period] * len(table)
    valid_row = (
        table[spec.validity_column].isin(spec.valid_values)
        if spec.validity_column
        else pd.Series(True, index=table.index)
    )
    missing, suppressed, sentinels = set(spec.missing), set(spec.suppressed), set(spec.sentinels)
    records = []
    for column, indicator in spec.columns.items():
        for cell, code, when, ok, line in zip(
            table[column], codes, periods, valid_row, lines, strict=True
        ):
            value, status = None, "no_data"
            if cell in suppressed:
                status = "suppressed"
            elif ok and cell not in missing:
                try:
                    number = parse_number(cell, spec.decimal)
                except ValueError:
                    raise IngestError(
                        f"line {line}: not a number", file=path, field=column, value=cell
                    ) from None
                if number not in sentinels:
                    value, status = number, "valid"
            records.append((indicator, code, when, value, status, line))
    frame = pd.DataFrame(
        records, columns=["indicator", "code", "period", "value", "status", "line"]
    )
    frame["file"] = path.name
    return frame, notes


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
    spec = load_statistics_source(settings.statistics_dir, key)
    inputs = []
    for period, source in spec.files():
        step(f"reading {source.title}")
        inputs.append((period, resolve_source(source, settings)))
    catalog = load_catalog(settings.catalog_dir, spec.catalog)
    return load_statistics(
        engine, spec, catalog, inputs, force=force, skip_unknown=skip_unknown, step=step
    )


def load_statistics(
    engine: Engine,
    spec: StatisticsSource,
    catalog: Catalog,
    inputs: list[tuple[date | None, Path]],
    *,
    force: bool = False,
    skip_unknown: bool = False,
    step=None,
) -> JobResult:
    """Read, validate and match every file of ``spec``, then write all values in one run."""
    step = step or (lambda _msg: None)
    known = {i.key for i in catalog.indicators}
    unknown = sorted(set(spec.columns.values()) - known)
    if unknown:
        raise IngestError(
            f"columns map to indicators not in catalog {catalog.key!r}: {', '.join(unknown)}"
        )
    regions, code_length = _regions_of(engine, spec.system, spec.level)
    frames, notes, files = [], [], []
    for period, path in inputs:
        files.extend(companion_files(path))
        frame, file_notes = read_values(path, period, spec, code_length)
        frames.append(frame)
        notes.extend(file_notes)
    values = pd.concat(frames, ignore_index=True)
    values = _match_regions(values, regions, spec, engine, skip_unknown, notes)
    _check_duplicates(values)
    checksum = input_checksum(
        files, {"source": spec.model_dump(mode="json"), "catalog": catalog.model_dump(mode="json")}
    )
    return _write(engine, spec, catalog, values, checksum, force, notes, step)


def _regions_of(engine: Engine, system: str, level: str) -> tuple[dict[str, int], int | None]:
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
                "SELECT r.code, r.id FROM regions r JOIN region_levels l ON l.id = r.level_id "
                "JOIN region_systems s ON s.id = r.system_id WHERE s.key = :s AND l.key = :l"
            ),
            {"s": system, "l": level},
        ).all()
    return dict(rows), length[0]


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
    hint = _other_systems_hint(engine, spec, codes)
    if skip_unknown:
        notes.append(f"skipped {len(codes)} unknown region codes: {listed}{hint}")
        return values[values["region_id"].notna()].copy()
    raise IngestError(
        f"{len(codes)} region codes do not exist in {spec.system}/{spec.level}: "
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


def _write(
    engine: Engine,
    spec: StatisticsSource,
    catalog: Catalog,
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
        ids = upsert_catalog(conn, catalog)
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
