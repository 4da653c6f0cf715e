"""CSV exports as a zip that opens right in a spreadsheet and in GIS: the table, a ``.csvt``
beside it (GDAL and QGIS read the column types from it, so codes keep their leading zeros),
and a README with the sources, licences and notes.

Two profiles: ``excel`` (German Excel: ``;``, decimal comma, UTF-8 BOM, digit-only codes as
``="01100101"`` so Excel keeps them as text) and ``plain`` (``,``, decimal point, no BOM).
Geometry is a point (x/y: the point itself, a point on the surface of a line or an area);
WKT only on request, and in the Excel profile a WKT longer than a cell holds goes to a
separate file in the zip instead of being cut."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import numpy as np
import shapely
from sqlalchemy.engine import Connection

from spatial.features import FeatureQuery, FeatureSource, Field, wkb_rows

PROFILES = ("excel", "plain")
EXCEL_CELL_CHARS = 32_767  # what one Excel cell holds
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_DIGITS = re.compile(r"\d+")
_CSVT = {"int": "Integer", "float": "Real", "bool": "String", "date": "Date", "text": "String"}


def write_csv_zip(
    conn: Connection,
    source: FeatureSource,
    query: FeatureQuery,
    path: Path,
    srid: int,
    style: CsvStyle,
    credits: str,
) -> None:
    """Write ``path`` (a ``.csv.zip``) with the table, its ``.csvt`` and the README."""
    stem = path.name.removesuffix(".csv.zip")
    wkt = style.geometry == "wkt"
    geometries, values = wkb_rows(conn, source, query, srid, points=not wkt)
    digits = 6 if srid == 4326 else 2
    header: list[str] = []
    types: list[str] = []
    columns: list[list] = []
    long_shapes: list[tuple[str, str]] = []
    shapes = shapely.from_wkb(np.array(geometries, dtype=object))
    if wkt:
        # snapped to the decimals written (GEOS keeps the shapes valid on that grid); rounding
        # the text alone made rings of six BZR touch themselves
        snapped = shapely.set_precision(shapes, 10.0**-digits)
        texts = shapely.to_wkt(snapped, rounding_precision=digits, trim=True)
        cells = []
        keys = values[source.fields[0].name]  # the code or id that names the row
        for key, text_ in zip(keys, texts, strict=True):
            if style.profile == "excel" and text_ is not None and len(text_) > EXCEL_CELL_CHARS:
                long_shapes.append((str(key), text_))
                cells.append(f"siehe {stem}_geometrien.csv")
            else:
                cells.append(text_)
        header.append("wkt")
        types.append("WKT")
        columns.append(cells)
    else:
        for axis, coords in (("x", shapely.get_x(shapes)), ("y", shapely.get_y(shapes))):
            header.append(axis)
            types.append("CoordX" if axis == "x" else "CoordY")
            columns.append([_number(v, style.comma, digits) for v in coords])
    for f in source.fields:
        header.append(f.name)
        types.append(_CSVT[f.kind])
        columns.append([_cell(v, f, style) for v in values[f.name]])
    files = {
        f"{stem}.csv": _table(header, list(zip(*columns, strict=True)), style),
        f"{stem}.csvt": ",".join(f'"{t}"' for t in types) + "\n",
    }
    if long_shapes:
        files[f"{stem}_geometrien.csv"] = _table(
            [source.fields[0].name, "wkt"], long_shapes, style.plain()
        )
    files["README.txt"] = credits + _profile_note(style, srid, bool(long_shapes))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(name, content.encode("utf-8-sig" if _bom(name, style) else "utf-8"))


class CsvStyle:
    """The profile with its explicit overrides (``None``: what the profile says)."""

    def __init__(
        self,
        profile: str = "excel",
        geometry: str | None = None,
        decimal: str | None = None,
        bom: bool | None = None,
    ) -> None:
        self.profile = profile
        self.geometry = geometry or "xy"
        excel = profile == "excel"
        self.comma = (decimal or ("comma" if excel else "point")) == "comma"
        self.bom = excel if bom is None else bom

    def plain(self) -> CsvStyle:
        return CsvStyle("plain", self.geometry, "comma" if self.comma else "point", self.bom)

    @property
    def separator(self) -> str:
        return ";" if self.comma else ","


def _bom(name: str, style: CsvStyle) -> bool:
    return style.bom and name.endswith(".csv")


def _table(header: list[str], rows: list, style: CsvStyle) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=style.separator, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(["" if v is None else v for v in row] for row in rows)
    return out.getvalue()


def _profile_note(style: CsvStyle, srid: int, long_shapes: bool) -> str:
    lines = [
        "",
        "Tabelle:",
        f"- Trennzeichen {style.separator!r}, Dezimal{'komma' if style.comma else 'punkt'}, "
        f"UTF-8{' mit BOM' if style.bom else ''}; Koordinaten in EPSG:{srid}.",
        "- Die .csvt-Datei nennt GDAL und QGIS die Spaltentypen (Schlüssel bleiben Text).",
    ]
    if style.profile == "excel":
        lines.append('- Ziffernfolgen wie Schlüssel stehen als ="01100101", damit Excel die '
                     "führenden Nullen behält.")  # fmt: skip
    if long_shapes:
        lines.append(
            f"- Geometrien über {EXCEL_CELL_CHARS} Zeichen (mehr als eine Excel-Zelle fasst) "
            "stehen in der Datei *_geometrien.csv."
        )
    return "\n".join(lines) + "\n"


def _number(value, comma: bool, digits: int) -> str | None:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    shown = f"{float(value):.{digits}f}".rstrip("0").rstrip(".")
    return shown.replace(".", ",") if comma else shown


def _cell(value, f: Field, style: CsvStyle) -> str | None:
    if value is None:
        return None
    if f.kind == "float":
        return _number(value, style.comma, 10)
    if f.kind == "int":
        return str(int(value))
    if f.kind == "bool":
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    text_ = str(value)
    if style.profile == "excel" and _DIGITS.fullmatch(text_):
        return f'="{text_}"'  # Excel keeps it text: leading zeros and long codes survive
    # a text cell that a spreadsheet would run as a formula is written as text ('=…)
    return "'" + text_ if text_.startswith(_FORMULA_STARTS) else text_
