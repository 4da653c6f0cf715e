"""Reading statistical tables as German offices publish them: CSV with ',' or ';', UTF-8
(with or without BOM) or Windows-1252, XLSX with a title block above the header; numbers with
decimal comma and thousands separators ('3 182', '1.234,5'), negatives as '-3', '−3' or
'–    3'; missing-value markers and
sentinel numbers. Every cell stays text until :func:`parse_number` decides what it is."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ingest.errors import IngestError

DEFAULT_MISSING = ("", ".", "-", "–", "—", "x", "X", "k.A.", "NA", "n.a.")
_SPACES = re.compile(r"[\s\u00a0\u202f']")


def read_table(
    path: Path,
    *,
    header_row: int = 0,
    header_rows: int = 1,
    sheet: str | int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
    footer_after_blank: bool = False,
) -> pd.DataFrame:
    """All cells as stripped text. The header is row ``header_row`` (0-based), or the
    ``header_rows`` rows from there: their names are joined with a blank, and a name written
    once above several columns (merged cells) counts for each. With ``footer_after_blank`` the
    table ends at the first blank row or the first row of another width (footnotes)."""
    if not path.exists():
        raise IngestError("file not found", file=path)
    grid = _grid(path, sheet, delimiter, encoding, header_row)
    if len(grid) < header_row + header_rows:
        raise IngestError(f"the file has no header row {header_row + header_rows}", file=path)
    header = _header(grid[header_row : header_row + header_rows])
    width = len(header)
    body, lines = [], []
    first = header_row + header_rows
    for index, row in enumerate(grid[first:]):
        blank = not any(cell.strip() for cell in row)
        if footer_after_blank and body and (blank or len(_trimmed(row)) > width):
            break
        if blank:
            continue
        row = _trimmed(row) if len(row) > width else row
        if len(row) != width:
            if footer_after_blank and body:
                break
            raise IngestError(
                f"line {first + index + 1}: {len(row)} cells but the header has {width}",
                file=path,
            )
        body.append(row)
        lines.append(first + index + 1)
    if not body:
        raise IngestError(
            f"the table has a header ({', '.join(header)}) but no rows of data", file=path
        )
    frame = pd.DataFrame(body, columns=header, dtype=str).apply(lambda col: col.str.strip())
    frame.attrs["lines"] = lines  # the file line of each row, for messages
    return frame


def _grid(
    path: Path, sheet: str | int | None, delimiter: str | None, encoding: str | None, head: int
) -> list[list[str]]:
    """Every row of the file as text cells (empty strings for empty cells)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(
                path, sheet_name=sheet or 0, header=None, dtype=str, keep_default_na=False
            )
        except (ValueError, OSError, KeyError) as exc:
            raise IngestError(f"cannot read the workbook: {exc}", file=path) from exc
        return [["" if v is None else str(v) for v in row] for row in frame.to_numpy().tolist()]
    lines = _decode(path.read_bytes(), encoding, path).splitlines()
    if len(lines) <= head:
        raise IngestError(f"the file has no header row {head + 1}", file=path)
    sep = delimiter or _sniff_delimiter(lines[head])
    return list(csv.reader(lines, delimiter=sep))


def _trimmed(row: list[str]) -> list[str]:
    """A row without the empty cells at its end (spreadsheet exports pad rows)."""
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row[:end]


def _header(rows: list[list[str]]) -> list[str]:
    width = max(len(r) for r in rows)
    filled = []
    for depth, row in enumerate(rows):
        row = [c.strip() for c in row] + [""] * (width - len(row))
        if depth < len(rows) - 1:  # a group name above merged cells counts for each column
            for i in range(1, width):
                row[i] = row[i] or row[i - 1]
        filled.append(row)
    names = [" ".join(p for p in (r[i] for r in filled) if p).strip() for i in range(width)]
    return _trimmed(names)


def _decode(raw: bytes, encoding: str | None, path: Path) -> str:
    if encoding:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise IngestError(f"not valid {encoding}: {exc}", file=path) from exc
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")  # what spreadsheet exports on German Windows produce


def _sniff_delimiter(header: str) -> str:
    counts = {sep: header.count(sep) for sep in (";", ",", "\t")}
    return max(counts, key=counts.get) if max(counts.values()) else ","


def parse_number(cell: str, decimal: str = ",") -> float:
    """A number from German or international notation; raises ValueError if it is none.

    ``decimal`` is the decimal separator of the source ("," or "."); the other one, spaces and
    apostrophes are thousands separators.
    """
    text_ = _SPACES.sub("", cell)
    thousands, point = (".", ",") if decimal == "," else (",", ".")
    text_ = text_.replace(thousands, "").replace(point, ".")
    # typographic minus, and the en dash some offices write before a padded negative ('–    3')
    text_ = text_.replace("−", "-").replace("–", "-")
    if not re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text_):
        raise ValueError(cell)
    return float(text_)
