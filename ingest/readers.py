"""Reading a boundary file into validated rows: code, name, parent code and geometry (WKB).

Everything that can be wrong with a file is found here, before the database is touched:
unreadable or truncated files, missing CRS, coordinates that do not fit the declared CRS,
empty layers, non-polygon features, missing fields, empty or duplicate codes. Codes that lost
their leading zeros are repaired when the level defines a code length, and that is reported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError
from shapely.errors import GEOSException

from ingest.errors import IngestError
from ingest.manifest import Fix
from ingest.names import code_from_name

POLYGON_TYPES = {"Polygon", "MultiPolygon"}


@dataclass(frozen=True)
class FieldMap:
    """How the columns of one file map to a region level."""

    code_field: str
    name_field: str | None = None
    parent_field: str | None = None
    code_length: int | None = None
    crs: str | None = None
    layer: str | None = None
    extra_fields: tuple[str, ...] = ()
    fixes: tuple[Fix, ...] = ()
    apply_fixes: bool = False
    generate_codes: bool = False  # names only: codes are made from the names


@dataclass
class RegionLayer:
    """Validated features of one file, ready to be staged in PostGIS."""

    path: Path
    rows: pd.DataFrame  # feature_index, code, name, parent_code, wkb, extra fields
    crs: CRS
    epsg: int | None
    notes: list[str] = field(default_factory=list)
    repaired_codes: int = 0


def find_column(frame: pd.DataFrame, wanted: str, path: Path) -> str:
    """The actual column name for ``wanted``: exact, else the one case-insensitive match."""
    if wanted in frame.columns:
        return wanted
    matches = [c for c in frame.columns if c.lower() == wanted.lower() and c != "geometry"]
    if len(matches) == 1:
        return matches[0]
    fields = ", ".join(c for c in frame.columns if c != "geometry")
    if not fields and path.suffix.lower() == ".shp":
        raise IngestError(
            f"the shapefile has no attributes: {path.with_suffix('.dbf').name} is missing "
            "beside it (a shapefile is .shp, .shx, .dbf and .prj together)",
            file=path,
            field=wanted,
        )
    if not fields:
        raise IngestError("the file has no attribute fields at all", file=path, field=wanted)
    raise IngestError(f"no such field (fields are: {fields})", file=path, field=wanted)


def as_code_text(value: object) -> str | None:
    """A code as text: integers and integral floats lose their '.0', blanks are stripped."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def read_vector_frame(path: Path, layer: str | None = None):
    """All features of a vector file (any GDAL format) as a GeoDataFrame; unreadable, truncated
    and empty files are errors."""
    if not path.exists():
        raise IngestError("file not found", file=path)
    try:
        info = pyogrio.read_info(path, layer=layer)
        frame = pyogrio.read_dataframe(path, layer=layer)
    except GEOSException as exc:
        raise _unreadable_feature(path, layer, exc) from exc
    except (DataSourceError, DataLayerError, RuntimeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise IngestError(
            f"cannot read the file (corrupt or not a vector format): {reason}", file=path
        ) from exc
    expected = info.get("features", -1)
    if expected is not None and expected >= 0 and len(frame) != expected:
        raise IngestError(
            f"file is truncated: the index announces {expected} features but "
            f"{len(frame)} could be read",
            file=path,
        )
    if len(frame) == 0:
        raise IngestError("the file contains no features", file=path)
    return frame


def _unreadable_feature(path: Path, layer: str | None, exc: Exception) -> IngestError:
    """The first feature whose geometry cannot be built (an unclosed ring, too few points),
    named with its index and first attribute, instead of the geometry library's message."""
    meta, _, geoms, values = pyogrio.raw.read(path, layer=layer)
    reason = str(exc).split(":", 1)[-1].strip()
    for index, wkb in enumerate(geoms):
        if wkb is not None and shapely.from_wkb(wkb, on_invalid="ignore") is None:
            label = ""
            if len(meta["fields"]):
                label = f" ({meta['fields'][0]} = {values[0][index]!r})"
            if "closed" in reason:
                reason = "a ring is not closed (its last point must repeat the first)"
            return IngestError(f"feature{label}: {reason}", file=path, feature=index)
    return IngestError(f"a geometry cannot be read: {reason}", file=path)


def read_region_layer(path: Path, fields: FieldMap) -> RegionLayer:
    """Read and validate one boundary file; raise :class:`IngestError` on bad input."""
    frame = read_vector_frame(path, fields.layer)
    crs = crs_of(frame.crs, fields.crs, path)
    notes: list[str] = []
    rows = pd.DataFrame({"feature_index": np.arange(len(frame), dtype=np.int64)})

    if fields.fixes and fields.apply_fixes:
        notes.extend(_apply_fixes(frame, fields.fixes, path))

    code_col = find_column(frame, fields.code_field, path)
    codes = [as_code_text(v) for v in frame[code_col]]
    if fields.generate_codes:
        codes = [code_from_name(c) if c else None for c in codes]
        notes.append(f"codes generated from the names in {code_col!r}")
    for index, code in enumerate(codes):
        if code is None:
            raise IngestError("empty code", file=path, feature=index, field=code_col)
    codes, repaired = _repair_codes(codes, fields.code_length, path, code_col)
    if repaired:
        example = repaired[0]
        notes.append(
            f"{len(repaired)} codes had lost leading zeros and were repaired "
            f"(e.g. {example[0]} → {example[1]})"
        )
    rows["code"] = codes

    if fields.name_field:
        name_col = find_column(frame, fields.name_field, path)
        names = [("" if v is None else str(v)).strip() for v in frame[name_col]]
    else:
        names = [""] * len(frame)
    rows["name"] = [name or code for name, code in zip(names, codes, strict=True)]

    if fields.parent_field:
        parent_col = find_column(frame, fields.parent_field, path)
        rows["parent_code"] = [as_code_text(v) for v in frame[parent_col]]
    else:
        rows["parent_code"] = None
    for extra in fields.extra_fields:
        rows[extra] = frame[find_column(frame, extra, path)].astype("string").str.strip()

    _check_duplicates(rows, path, code_col)
    rows["wkb"] = _polygon_wkb(frame, rows, path)
    check_extent(frame.total_bounds, crs, path)
    check_units(frame.total_bounds, crs, path)
    epsg = crs.to_epsg(min_confidence=70)
    return RegionLayer(
        path=path, rows=rows, crs=crs, epsg=epsg, notes=notes, repaired_codes=len(repaired)
    )


def crs_of(file_crs: object, declared: str | None, path: Path) -> CRS:
    """The file's own CRS, else the declared one; a file without either is an error."""
    if file_crs is not None:
        return CRS.from_user_input(file_crs)
    if declared:
        try:
            return CRS.from_user_input(declared)
        except CRSError as exc:
            raise IngestError(f"unknown CRS {declared!r}: {exc}", file=path) from exc
    raise IngestError(
        "the file has no CRS (a shapefile without .prj?) and none is declared; "
        "set 'crs' in the manifest or pass --crs",
        file=path,
    )


def _apply_fixes(frame: pd.DataFrame, fixes: tuple[Fix, ...], path: Path) -> list[str]:
    notes = []
    for fix in fixes:
        mask = np.ones(len(frame), dtype=bool)
        for name, value in fix.where.items():
            column = find_column(frame, name, path)
            mask &= frame[column].map(as_code_text).to_numpy() == value
        matched = int(mask.sum())
        if matched != 1:
            raise IngestError(
                f"fix {fix.description!r} matches {matched} features, expected exactly 1",
                file=path,
            )
        index = int(np.flatnonzero(mask)[0])
        for name, value in fix.set.items():
            frame.loc[index, find_column(frame, name, path)] = value
        notes.append(f"applied fix to feature {index}: {fix.description}")
    return notes


def _repair_codes(
    codes: list[str], code_length: int | None, path: Path, column: str
) -> tuple[list[str], list[tuple[str, str]]]:
    if code_length is None:
        return codes, []
    repaired: list[tuple[str, str]] = []
    result = []
    for index, code in enumerate(codes):
        fixed = code
        if code.isdigit() and len(code) < code_length:
            fixed = code.zfill(code_length)
            repaired.append((code, fixed))
        if len(fixed) != code_length:
            raise IngestError(
                f"code has {len(fixed)} characters, this level's codes have {code_length}",
                file=path,
                feature=index,
                field=column,
                value=code,
            )
        result.append(fixed)
    return result, repaired


def _check_duplicates(rows: pd.DataFrame, path: Path, column: str) -> None:
    duplicated = rows[rows["code"].duplicated(keep=False)]
    if duplicated.empty:
        return
    code = duplicated["code"].iloc[0]
    same = duplicated[duplicated["code"] == code]
    described = " and ".join(
        f"feature {int(r.feature_index)} ({r.name!r})" for r in same.itertuples()
    )
    others = duplicated["code"].nunique() - 1
    more = f"; {others} more duplicated codes" if others else ""
    raise IngestError(f"duplicate code {code!r}: {described}{more}", file=path, field=column)


def _polygon_wkb(frame, rows: pd.DataFrame, path: Path) -> list[bytes]:
    geoms = frame.geometry.values
    types = shapely.get_type_id(geoms)
    for index, (geom, type_id) in enumerate(zip(geoms, types, strict=True)):
        if geom is None or shapely.is_empty(geom):
            raise IngestError(
                f"feature {rows['code'].iat[index]!r} has no geometry "
                "(is the file truncated or corrupt?)",
                file=path,
                feature=index,
            )
        if type_id not in (3, 6):  # Polygon, MultiPolygon
            raise IngestError(
                f"{geom.geom_type} is not a polygon: boundaries must be Polygon or "
                "MultiPolygon features",
                file=path,
                feature=index,
            )
    # binary WKB: hex text would double what goes over the wire and cost seconds to encode
    return list(shapely.to_wkb(geoms, output_dimension=2))


def check_units(bounds, crs: CRS, path: Path) -> None:
    """Boundaries of a city in a projected CRS span kilometres: coordinates that all fit in
    a few degrees are longitude/latitude labelled with the wrong CRS (EPSG:3857 is a common
    one, whose area of use is the whole world)."""
    minx, miny, maxx, maxy = bounds
    if not crs.is_projected:
        return
    degrees = minx >= -180 and maxx <= 180 and miny >= -90 and maxy <= 90
    if degrees and max(maxx - minx, maxy - miny) < 10:
        raise IngestError(
            f"coordinates ({minx:.6g}, {miny:.6g}) … ({maxx:.6g}, {maxy:.6g}) look like "
            f"degrees, but the file says {crs.to_string()}, a projected CRS in metres; declare "
            "the CRS the coordinates are in (e.g. EPSG:4326)",
            file=path,
        )


def check_extent(bounds, crs: CRS, path: Path) -> None:
    """Coordinates must lie within the declared CRS's area of use (catches lon/lat as UTM)."""
    area = crs.area_of_use
    if area is None:
        return
    to_crs = Transformer.from_crs(CRS.from_epsg(4326), crs, always_xy=True)
    west, south, east, north = to_crs.transform_bounds(area.west, area.south, area.east, area.north)
    margin_x = (east - west) * 0.1
    margin_y = (north - south) * 0.1
    minx, miny, maxx, maxy = bounds
    inside = (
        minx >= west - margin_x
        and maxx <= east + margin_x
        and miny >= south - margin_y
        and maxy <= north + margin_y
    )
    if not inside:
        raise IngestError(
            f"coordinates ({minx:.6g}, {miny:.6g}) … ({maxx:.6g}, {maxy:.6g}) lie outside the "
            f"area of use of {crs.to_string()} ({area.name}); is the CRS declared wrongly "
            "(e.g. lon/lat labelled as a projected CRS)?",
            file=path,
        )
