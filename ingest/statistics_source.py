"""Statistics source manifests and reading one table of a source into long rows (indicator,
code, period, value, status, line): codes repaired, periods parsed, missing-value markers,
suppression markers, sentinels and the validity column applied, every bad number named."""

from __future__ import annotations

import calendar
import math
import re
from datetime import date, datetime
from pathlib import Path

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ingest.errors import IngestError
from ingest.manifest import Folders, Source, load_toml_model
from ingest.names import normalise_name
from ingest.table_shapes import LINE, Pivot, filter_rows, pivot_long, require_columns
from ingest.tables import DEFAULT_MISSING, parse_number, read_table


class StatisticsSource(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str
    title: str
    catalog: str | list[str] = Field(description="the catalog(s) the columns' indicators are in")
    system: str
    level: str = Field(description="the level of the rows (the finest one with 'levels')")
    levels: list[str] = Field(
        default_factory=list,
        description="rows of several levels in one table: each row goes to the level its "
        "code belongs to (by length; lost or padded zeros are repaired)",
    )
    code_column: str | None = None
    name_column: str | None = Field(
        default=None, description="match rows to regions by name instead of code"
    )
    name_aliases: dict[str, str] = Field(
        default_factory=dict, description="name in the table → name of the region"
    )
    abbreviations: dict[str, str] = Field(
        default_factory=dict, description="written out before names are compared ('Str.')"
    )
    total_rows: list[str] = Field(
        default_factory=list,
        description="keys of total rows (a Bezirk, the city, 'Insgesamt'): checked, not loaded",
    )
    columns: dict[str, str] = Field(default_factory=dict, description="column → indicator key")
    sums: dict[str, list[str]] = Field(
        default_factory=dict,
        description="indicator → columns added up (classes of another width, e.g. age bands)",
    )
    filters: dict[str, str | list[str]] = Field(
        default_factory=dict, description="keep only rows whose column has this value (or one)"
    )
    pivot: Pivot | None = Field(default=None, description="a long table: one row per category")
    header_rows: int = Field(default=1, ge=1, le=10, description="a header spanning rows")
    footer_after_blank: bool = Field(
        default=False, description="the table ends at its first blank row (footnotes follow)"
    )
    delimiter: str | None = None
    encoding: str | None = Field(default=None, description="e.g. latin-1; default: detected")
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
    credit_title: str | None = Field(
        default=None, description="how the source is named in credits; default its title"
    )

    @model_validator(mode="after")
    def _one_key(self) -> StatisticsSource:
        if bool(self.code_column) == bool(self.name_column):
            raise ValueError("give exactly one of 'code_column' and 'name_column'")
        if self.levels and self.name_column:
            raise ValueError("rows of several 'levels' are told apart by code: use code_column")
        if not self.columns and not self.sums:
            raise ValueError("map at least one column to an indicator ('columns' or 'sums')")
        return self

    @property
    def indicators(self) -> set[str]:
        return set(self.columns.values()) | set(self.sums)

    @property
    def key_column(self) -> str:
        return self.code_column or self.name_column or ""

    @property
    def catalog_keys(self) -> list[str]:
        return [self.catalog] if isinstance(self.catalog, str) else list(self.catalog)

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


def load_statistics_source(directory: Folders, key: str) -> StatisticsSource:
    return load_toml_model(directory, key, StatisticsSource, "statistics source")


def _period_from(cell: str, fmt: str, path: Path, line: int) -> date:
    if fmt == "year_range":  # '1982-1983', '2022/23': the end of the last year
        found = re.fullmatch(r"(\d{4})\s*[-/–]\s*(\d{2}|\d{4})", cell.strip())
        if found is None:
            raise IngestError(f"line {line}: period {cell!r} is not a range of years", file=path)
        end = found.group(2)
        year = int(end) if len(end) == 4 else int(found.group(1)[:2] + end)
        return date(year, 12, 31)
    try:
        parsed = datetime.strptime(cell, fmt).date()
    except ValueError as exc:
        raise IngestError(
            f"line {line}: period {cell!r} does not match {fmt!r}", file=path
        ) from exc
    if "%d" not in fmt:  # a month means its last day, the usual reference date
        parsed = parsed.replace(day=calendar.monthrange(parsed.year, parsed.month)[1])
    return parsed


def _code_of_name(
    name: str, spec: StatisticsSource, names: dict[str, str], totals: set[str]
) -> str:
    """The code of the region a row names (a total row, or an unknown name, stays as is)."""
    if normalise_name(name, spec.abbreviations) in totals:
        return name
    wanted = normalise_name(spec.name_aliases.get(name, name), spec.abbreviations)
    return names.get(wanted, name)


def _value(
    cells: tuple[str, ...], columns: list[str], ok: bool, spec: StatisticsSource, path, line
) -> tuple[float | None, str]:
    """One value from its cell (or the sum of several): suppressed if any is, no data if any
    is missing, a sentinel or the row is marked invalid."""
    if any(cell in spec.suppressed for cell in cells):
        return None, "suppressed"
    if not ok or any(cell in spec.missing for cell in cells):
        return None, "no_data"
    total = 0.0
    for cell, column in zip(cells, columns, strict=True):
        try:
            number = parse_number(cell, spec.decimal)
        except ValueError:
            raise IngestError(
                f"line {line}: not a number", file=path, field=column, value=cell
            ) from None
        if not math.isfinite(number):  # '1e400': no count or share is that large
            raise IngestError(
                f"line {line}: not a finite number", file=path, field=column, value=cell
            )
        if number in spec.sentinels:
            return None, "no_data"
        total += number
    return total, "valid"


def read_values(
    path: Path,
    period: date | None,
    spec: StatisticsSource,
    code_length: int | None,
    names: dict[str, str] | None = None,
) -> tuple[pd.DataFrame, list[str]]:
    """Long rows (indicator, code, period, value, status, line) from one file, and notes.

    With a ``name_column`` the rows are matched by name: ``names`` maps the normalised names
    of the level's regions to their codes; a name that matches none stays as it is (and is
    reported as unknown when the rows are matched to the store)."""
    table = read_table(
        path,
        header_row=spec.header_row,
        header_rows=spec.header_rows,
        sheet=spec.sheet,
        delimiter=spec.delimiter,
        encoding=spec.encoding,
        footer_after_blank=spec.footer_after_blank,
    )
    table[LINE] = table.attrs["lines"]
    if spec.filters:
        table = filter_rows(table, spec.filters, path)
    if spec.pivot:
        keys = [spec.key_column] + ([spec.period_column] if spec.period_column else [])
        table = pivot_long(table, spec.pivot, keys, path)
    summed = [c for columns in spec.sums.values() for c in columns]
    require_columns(
        table,
        [spec.key_column, *spec.columns, *summed, spec.validity_column, spec.period_column],
        path,
    )
    lines = table[LINE].tolist()
    notes: list[str] = []
    codes = table[spec.key_column]
    if spec.name_column:
        totals = {normalise_name(t, spec.abbreviations) for t in spec.total_rows}
        codes = codes.map(lambda n: _code_of_name(n, spec, names or {}, totals))
    elif code_length:
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
    records = []
    parts = [(ind, [col]) for col, ind in spec.columns.items()] + list(spec.sums.items())
    for indicator, columns in parts:
        cells = zip(*(table[c] for c in columns), strict=True)
        for row, code, when, ok, line in zip(cells, codes, periods, valid_row, lines, strict=True):
            value, status = _value(row, columns, ok, spec, path, line)
            records.append((indicator, code, when, value, status, line))
    frame = pd.DataFrame(
        records, columns=["indicator", "code", "period", "value", "status", "line"]
    )
    frame["file"] = path.name
    return frame, notes
