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
    sheet: str | int | None = None,
    delimiter: str | None = None,
    encoding: str | None = None,
) -> pd.DataFrame:
    """All cells as stripped text; the header is row ``header_row`` (0-based)."""
    if not path.exists():
        raise IngestError("file not found", file=path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            frame = pd.read_excel(
                path, sheet_name=sheet or 0, header=header_row, dtype=str, keep_default_na=False
            )
        except (ValueError, OSError, KeyError) as exc:
            raise IngestError(f"cannot read the workbook: {exc}", file=path) from exc
    else:
        raw = path.read_bytes()
        text_ = _decode(raw, encoding, path)
        lines = text_.splitlines()
        if len(lines) <= header_row:
            raise IngestError(f"the file has no header row {header_row + 1}", file=path)
        sep = delimiter or _sniff_delimiter(lines[header_row])
        rows = list(csv.reader(lines[header_row:], delimiter=sep))
        header, body = rows[0], [r for r in rows[1:] if any(cell.strip() for cell in r)]
        width = len(header)
        for index, row in enumerate(body):
            if len(row) != width:
                raise IngestError(
                    f"line {header_row + index + 2}: {len(row)} cells but the header has {width}",
                    file=path,
                )
        frame = pd.DataFrame(body, columns=[h.strip() for h in header], dtype=str)
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.str.strip())


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
